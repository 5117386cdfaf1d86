"""asdgaze.metrics.probabilistic against pysaliency 0.2.22 itself, on fresh random cases.

pysaliency runs in its own interpreter, ``.venv-pysal`` (built by ``make test`` /
``make .venv-pysal/.installed``; override with ASDGAZE_PYSALIENCY_PYTHON), through its model
methods (``log_likelihoods``, ``information_gains``, ``AUCs``, ``sAUCs``, ``NSSs``, ``CCs``,
``SIMs``) and ``metrics.MIT_KLDiv`` on a ``FixationMap``. Inputs and results pass through an npz
and a json file in a temporary folder. A missing interpreter is a failure, not a skip.

Tolerances: LL and IG are the same sums of the same float64 numbers (1e-10). AUC and sAUC are
rank counts (1e-12). NSS, CC, KL and SIM sum 10^3-10^4 terms in another order, and our
empirical map is a matrix product rather than scipy's filter loop (1e-9 relative).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from asdgaze.metrics import probabilistic as prob
from asdgaze.metrics.prob_scoring import shuffled_negatives

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "tests" / "pysal" / "run_pysaliency.py"
SIGMA = 2.5



def _smooth_log_density(rng, h, w, quantise=False):
    from scipy.ndimage import gaussian_filter
    field = gaussian_filter(rng.standard_normal((h, w)), 3.0) * 12.0
    yy, xx = np.mgrid[0:h, 0:w]
    field -= ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (0.3 * h * w)
    if quantise:  # ties in the density: AUC must count them 1/2
        p = np.exp(field - field.max())
        p = np.round(p * 8) + 1.0
        return np.log(p / p.sum())
    return field - logsumexp(field)


def _case(seed):
    rng = np.random.default_rng(seed)
    shapes = [(40, 56), (48, 64), (36, 50), (40, 56)]
    images, logd, base, xs, ys, ns = [], [], [], [], [], []
    for k, (h, w) in enumerate(shapes):
        ld = _smooth_log_density(rng, h, w, quantise=(k == 1))
        logd.append(ld)
        base.append(_smooth_log_density(rng, h, w))
        images.append(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))
        m = int(rng.integers(15, 40))
        flat = rng.choice(h * w, size=m, p=np.exp(ld).ravel())
        flat = np.concatenate([flat, flat[:4]])  # duplicated fixations count every time
        # sub-pixel offsets: both sides must truncate to the same pixel
        xs.append(flat % w + rng.random(flat.size) * 0.999)
        ys.append(flat // w + rng.random(flat.size) * 0.999)
        ns.append(np.full(flat.size, k))
    return shapes, images, logd, base, np.concatenate(xs), np.concatenate(ys), np.concatenate(ns)


@pytest.fixture(scope="module", params=[11])
def oracle(request, tmp_path_factory, pysaliency_python):
    shapes, images, logd, base, x, y, n = _case(request.param)
    tmp = tmp_path_factory.mktemp("pysal")
    arrays = {"n_images": len(shapes), "x": x, "y": y, "n": n, "sigma": SIGMA}
    for k in range(len(shapes)):
        arrays[f"image_{k}"] = images[k]
        arrays[f"logdens_{k}"] = logd[k]
        arrays[f"baseline_{k}"] = base[k]
    np.savez(tmp / "in.npz", **arrays)
    proc = subprocess.run([str(pysaliency_python), str(RUNNER), str(tmp / "in.npz"), str(tmp / "out.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pysaliency runner failed:\n{proc.stderr[-3000:]}"
    got = json.loads((tmp / "out.json").read_text())
    return shapes, logd, base, x, y, n, got


def _ours(shapes, logd, base, x, y, n):
    out = {k: [] for k in ("ll", "ig_uniform", "ig_baseline", "auc", "sauc", "nss", "cc", "kl_mit", "sim")}
    for k, shape in enumerate(shapes):
        sel = n == k
        xk, yk = x[sel], y[sel]
        dens = np.exp(logd[k])
        out["ll"].append(prob.log_likelihoods(logd[k], xk, yk))
        out["ig_uniform"].append(prob.information_gains(logd[k], None, xk, yk))
        out["ig_baseline"].append(prob.information_gains(logd[k], base[k], xk, yk))
        out["auc"].append(prob.auc_per_fixation(dens, xk, yk))
        ox, oy = shuffled_negatives([(x[n == j], y[n == j], other) for j, other in enumerate(shapes) if j != k], shape)
        out["sauc"].append(prob.sauc_per_fixation(dens, xk, yk, ox, oy))
        out["nss"].append(prob.nss_per_fixation(dens, xk, yk))
        emp = prob.empirical_map(shape, xk, yk, SIGMA, mode="reflect")
        out["cc"].append([prob.cc(dens, emp)])
        out["kl_mit"].append([prob.kl_div(dens, emp)])
        out["sim"].append([prob.sim(dens, emp)])
    return {k: np.concatenate(v) for k, v in out.items()}


@pytest.mark.parametrize("metric,rtol", [("ll", 1e-10), ("ig_uniform", 1e-10), ("ig_baseline", 1e-10),
                                         ("auc", 1e-12), ("sauc", 1e-12), ("nss", 1e-9),
                                         ("cc", 1e-9), ("kl_mit", 1e-9), ("sim", 1e-9)])
def test_matches_pysaliency(oracle, metric, rtol):
    shapes, logd, base, x, y, n, got = oracle
    ours = _ours(shapes, logd, base, x, y, n)[metric]
    theirs = np.asarray(got[metric], dtype=float)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0)


def test_case_has_ties_and_duplicates():
    """The generated cases exercise the 1/2 tie rule and repeated fixations."""
    shapes, _, logd, _, x, y, n = _case(11)
    dens = np.exp(logd[1])
    r, c = prob.fixation_indices(dens.shape, x[n == 1], y[n == 1])
    assert np.unique(dens).size < dens.size / 4
    assert np.unique(r * 1000 + c).size < r.size
