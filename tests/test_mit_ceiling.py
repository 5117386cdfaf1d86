"""The MIT convention's noise ceiling (issue 17): each viewer's fixations against the continuous map of the
other viewers, by hand on a tiny case.

The recipe's Gaussian is made a single tap (sigma 0.1 px: a 6-sigma kernel rounds to 1 tap), so the others'
continuous map is their binary map (min-max of 0/1) and every metric has a closed form in the counts:
an image of N = 48 pixels; viewer 0 fixates (1,1) and (2,3), viewer 1 (1,1) and (4,6), viewer 2 (0,7).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from asdgaze.data.loo_maps import grid_factor, leave_one_viewer_out
from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

N = 48  # 6 x 8 pixels
EPS = np.finfo(np.float64).eps  # MATLAB's eps, as the MIT code's KLdiv
PIXELS = {0: [(1, 1), (2, 3)], 1: [(1, 1), (4, 6)], 2: [(0, 7)]}  # viewer -> (row, col)


def _dataset(root: Path, f: int = 1) -> Dataset:
    """The tiny case; with ``f`` > 1 an image f times larger whose fixations fall in the same f x f cells."""
    rows, cols, viewers = [], [], []
    for v, px in PIXELS.items():
        for r, c in px:
            rows.append(r * f + (f - 1) / 2 + 0.25)
            cols.append(c * f + (f - 1) / 2 + 0.25)
            viewers.append(v)
    fix = Fixations.from_arrays(cols, rows, None, viewers)
    one = Fixations.from_arrays([3.5 * f], [2.5 * f], None, [0])  # group B: a single viewer
    stim = {"1": Stimulus("1", root / "1.png", 6 * f, 8 * f)}
    return Dataset("hand", root, stim, {"A": {"1": fix}, "B": {"1": one}}, fixmap_sigma=0.1 * f)


def _nss_by_hand() -> float:
    sd = math.sqrt(3 * 45 / 48 / 47)  # sample std of a 0/1 map with 3 ones among 48 pixels
    hi, lo = (1 - 3 / 48) / sd, -(3 / 48) / sd
    # viewer 0: others {(1,1),(4,6),(0,7)}: own (1,1) -> 1, (2,3) -> 0; viewer 1 alike;
    # viewer 2: others {(1,1),(2,3),(4,6)} (viewers 0 and 1 share (1,1): it counts once), own (0,7) -> 0
    return ((hi + lo) / 2 + (hi + lo) / 2 + lo) / 3


def _cc_by_hand() -> float:
    def cc(n11, ka, kb):  # Pearson correlation of two 0/1 maps of N pixels
        return (n11 * N - ka * kb) / math.sqrt(ka * (N - ka) * kb * (N - kb))

    return (cc(1, 3, 2) + cc(1, 3, 2) + cc(0, 3, 1)) / 3


def _kl_by_hand() -> float:
    def term(p_fix, p_sal):  # MIT KLdiv: sum of C * log(eps + C / (S + eps)), C and S each summing to 1
        return p_fix * math.log(EPS + p_fix / (p_sal + EPS))

    v0 = term(1 / 2, 1 / 3) + term(1 / 2, 0.0)
    v2 = term(1.0, 0.0)
    return (v0 + v0 + v2) / 3


def _sim_by_hand() -> float:
    return (1 / 3 + 1 / 3 + 0.0) / 3  # sum of min(S/3, C/k): one shared pixel for viewers 0 and 1


@pytest.mark.parametrize("f", [1, 2])
def test_the_ceiling_is_the_hand_computation(tmp_path, f):
    ds = _dataset(tmp_path, f)
    maps = tmp_path / "maps"
    save_npy(maps / "1.npy", np.random.default_rng(0).random((6 * f, 8 * f)))
    res = evaluate(ds, maps, tmp_path / "out", EvaluateOptions(
        maps_kind="saliency", conventions=("mit",), metrics=("nss", "cc", "kl", "sim", "emd"),
        baselines=("gold-standard",), ceiling_grid=8), workers=1, progress=False)
    rows = res.per_image[(res.per_image.model == "gold-standard") & (res.per_image.group == "A")]
    got = dict(zip(rows.metric, rows.value))
    assert set(got) == {"nss", "cc", "kl", "sim"}  # EMD: the registry says why not (no_ceiling)
    assert got["nss"] == pytest.approx(_nss_by_hand(), rel=1e-12)
    assert got["cc"] == pytest.approx(_cc_by_hand(), rel=1e-12)
    assert got["kl"] == pytest.approx(_kl_by_hand(), rel=1e-12)
    assert got["sim"] == pytest.approx(_sim_by_hand(), rel=1e-12)
    assert set(rows.n_viewers) == {3}
    # a group with one viewer has no one to predict them from: no value, and a note that says so
    b = res.per_image[(res.per_image.model == "gold-standard") & (res.per_image.group == "B")]
    assert b.value.isna().all() and set(b.n_viewers) == {0}
    assert any("one viewer" in n and "no MIT ceiling" in n for n in res.notes)


def test_no_viewer_is_scored_against_a_map_holding_their_own_fixations(tmp_path):
    ds = _dataset(tmp_path)
    for vm in leave_one_viewer_out(ds, "A", "1", 0):
        own = {tuple(p) for p in np.argwhere(vm.own.binary_map(6, 8))}
        others = {p for v, px in PIXELS.items() if v != vm.viewer for p in px}
        assert {tuple(p) for p in np.argwhere(vm.others == 1.0)} == others
        assert own == set(PIXELS[vm.viewer])


def test_grid_factor_fits_the_longer_side():
    assert grid_factor((768, 1024), 256) == 4
    assert grid_factor((769, 1025), 256) == 5  # ceil: the longer side must fit
    assert grid_factor((600, 800), 0) == 1
