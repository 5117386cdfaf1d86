"""evaluate: an (image, group) pair without a single fixation is a named failure, never a score.

Before, an image missing from a fixation table (or one group's rows missing for an image) was
scored by the MIT convention with KL = 0.0 and SIM = 0.0 (exit 0), and the probabilistic
convention died with an IndexError."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asdgaze.cli import main
from asdgaze.data.saliency4asd import load_saliency4asd
from asdgaze.data.table import load_table_dataset
from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

H, W = 30, 40
MIT = ("nss", "cc", "kl", "sim", "auc_judd")
PROB = ("ll", "auc", "nss", "kl", "sim")


def _images(folder: Path, n: int = 4) -> None:
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        Image.new("RGB", (W, H), (10 * i, 20, 30)).save(folder / f"{i}.png")


def _fixations(rng) -> list[tuple[int, int, int]]:
    return [(int(rng.integers(1, W + 1)), int(rng.integers(1, H + 1)), v) for v in range(3) for _ in range(4)]


def _table(path: Path, leave_out: set[tuple[str, str]]) -> dict[tuple[str, str], list]:
    """1-based rows for images 1-4 of groups ASD and TD, without the (image, group) pairs left out."""
    rng = np.random.default_rng(11)
    rows, kept = ["image,group,viewer,x,y"], {}
    for g in ("ASD", "TD"):
        for i in map(str, range(1, 5)):
            fix = _fixations(rng)
            if (i, g) in leave_out:
                continue
            kept[(i, g)] = fix
            rows += [f"{i}.png,{g},{v},{x},{y}" for x, y, v in fix]
    path.write_text("\n".join(rows) + "\n")
    return kept


def _log_density_maps(folder: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    out = {}
    for i in map(str, range(1, 5)):
        p = rng.random((H, W)) + 0.05
        out[i] = np.log(p / p.sum())
        save_npy(folder / f"{i}.npy", out[i])
    return out


def _hand_nss_mit(log_p: np.ndarray, fix) -> float:
    """MIT NSS.m: z-score with the sample std, averaged over the unique fixated pixels (0-based)."""
    p = np.exp(log_p)
    z = (p - p.mean()) / p.std(ddof=1)
    return float(np.mean([z[y, x] for x, y in {(x - 1, y - 1) for x, y, _ in fix}]))


def _hand_ll(log_p: np.ndarray, fix) -> float:
    """pysaliency's LL: the log-density at every fixation, duplicates included, in nats."""
    return float(np.mean([log_p[y - 1, x - 1] for x, y, _ in fix]))


LEFT_OUT = {("3", "TD"), ("4", "ASD"), ("4", "TD")}  # TD's rows of image 3; image 4 is not in the table


@pytest.mark.parametrize("conventions", [("mit",), ("mit", "probabilistic"), ("probabilistic",)])
def test_pairs_missing_from_a_table_fail_by_name_and_every_other_pair_is_scored(tmp_path, conventions):
    _images(tmp_path / "images")
    table = tmp_path / "fix.csv"
    kept = _table(table, LEFT_OUT)
    maps = _log_density_maps(tmp_path / "maps")
    ds = load_table_dataset(tmp_path / "images", table, coords="1-based")
    options = EvaluateOptions(maps_kind="log-density", metrics=MIT, prob_metrics=PROB, conventions=conventions)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", options, workers=1, progress=False)
    assert not res.ok
    assert {(f.image, f.group): f.error for f in res.failures} == {
        (i, g): f"{table}: no fixations of group {g} for image {i}" for i, g in LEFT_OUT}
    scored = {(r.image, r.group) for r in res.per_image.itertuples()}
    assert scored == set(kept)  # no row (no KL = 0, no SIM = 0) for a pair without fixations
    rows = res.per_image.set_index(["convention", "image", "group", "metric"])["value"]
    for (i, g), fix in kept.items():
        if "mit" in conventions:
            assert rows["mit", i, g, "nss"] == pytest.approx(_hand_nss_mit(maps[i], fix), rel=1e-12)
        if "probabilistic" in conventions:
            assert rows["probabilistic", i, g, "ll"] == pytest.approx(_hand_ll(maps[i], fix), rel=1e-12)
    assert res.per_image["value"].notna().all()


def test_the_command_lists_them_and_exits_1(tmp_path, capsys):
    _images(tmp_path / "images")
    table = tmp_path / "fix.csv"
    _table(table, LEFT_OUT)
    _log_density_maps(tmp_path / "maps")
    code = main(["evaluate", "--dataset", str(tmp_path / "images"), "--table", str(table), "--coords", "1-based",
                 "--maps", str(tmp_path / "maps"), "--maps-kind", "log-density", "--baselines", "none",
                 "--convention", "both", "--metrics", "nss,kl,sim,auc", "--workers", "1", "--no-progress",
                 "--out", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "3 (image, group) pair(s) not scored" in err
    assert f"3 (TD): {table}: no fixations of group TD for image 3" in err


def _scanpath(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["Idx, x, y, duration", *(f"{i}, {x}, {y}, 200" for i, (x, y, _) in
                                                         enumerate(rows))]) + "\n")


def test_a_header_only_or_all_outside_scanpath_file_fails_its_pair_by_the_files_name(tmp_path):
    # Saliency4ASD: an empty file already failed its pair; a file with a header only, or whose
    # every point lies outside the image, leaves no fixation either.
    root = tmp_path / "s4a"
    _images(root / "Images", n=3)
    rng = np.random.default_rng(4)
    for g in ("ASD", "TD"):
        for i in ("1", "2", "3"):
            _scanpath(root / g / f"{g}_scanpath_{i}.txt", _fixations(rng))
    _scanpath(root / "TD" / "TD_scanpath_2.txt", [])
    _scanpath(root / "ASD" / "ASD_scanpath_3.txt", [(W + 5, 1, 0), (1, H + 9, 0)])
    with pytest.warns(UserWarning):
        ds = load_saliency4asd(root)
    _log_density_maps(tmp_path / "maps")
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="log-density", metrics=MIT,
                   prob_metrics=PROB), workers=1, progress=False, overwrite=False)
    assert {(f.image, f.group): f.error for f in res.failures} == {
        ("2", "TD"): f"{root / 'TD' / 'TD_scanpath_2.txt'}: no fixations of group TD for image 2",
        ("3", "ASD"): f"{root / 'ASD' / 'ASD_scanpath_3.txt'}: no fixations of group ASD for image 3"}
    assert len({(r.image, r.group) for r in res.per_image.itertuples()}) == 4


def test_a_dataset_built_in_python_names_its_root(tmp_path):
    stimuli = {s: Stimulus(s, tmp_path / f"{s}.png", H, W) for s in ("1", "2")}
    one = Fixations.from_arrays([3.5, 7.5], [2.5, 9.5])
    ds = Dataset("mine", tmp_path, stimuli, {"A": {"1": one, "2": Fixations.empty()}})
    _log_density_maps(tmp_path / "maps")
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="log-density", metrics=MIT,
                   prob_metrics=PROB, allow_missing=True), workers=1, progress=False)
    assert [tuple(f) for f in res.failures] == [("2", "A", f"{tmp_path}: no fixations of group A for image 2")]
    assert set(res.per_image.image) == {"1"} and not any(math.isnan(v) for v in res.per_image.value)
