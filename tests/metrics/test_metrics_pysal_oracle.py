"""Checks against pysaliency 0.2.22 values (shared/metric-oracles/pysal_expected.json).

Only where the definitions coincide with the MIT ones (metrics.md 4.5, oracle README):
- CC: both are the Pearson correlation of the two maps.
- KLDiv with MIT regularisation (minimum_value 0, eps 2.2204e-16): equals MIT KLdiv on
  non-negative maps (pysaliency's eps differs from MATLAB eps by 4.5e-21, far below rtol).
Not compared: NSS (pysaliency keeps duplicate fixations and uses ddof 0), SIM (no min-max),
AUCs (duplicates, all-pixel negatives, exact thresholds), IG (probabilistic definition).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from asdgaze.metrics import cc, kl_div

@pytest.fixture(scope="module")
def expected(shared_dir):
    return json.loads((shared_dir / "metric-oracles" / "pysal_expected.json").read_text())


@pytest.fixture(scope="module")
def maps(shared_dir):
    d = np.load(shared_dir / "metric-oracles" / "pysal_case.npz")
    out = []
    for k in range(d["logdens"].shape[0]):
        dens = np.exp(d["logdens"][k])
        sel = d["fix_n"] == k
        counts = np.zeros(dens.shape)
        # Empirical map as in the oracle: per-pixel fixation counts (duplicates add up),
        # gaussian_filter(sigma=3, mode='reflect'); coordinates truncated to int.
        np.add.at(counts, (d["fix_y"][sel].astype(int), d["fix_x"][sel].astype(int)), 1.0)
        out.append((dens, gaussian_filter(counts, 3, mode="reflect")))
    return out


def test_cc_matches_pysaliency(maps, expected):
    got = np.mean([cc(dens, emp) for dens, emp in maps])
    assert got == pytest.approx(expected["CC_vs_empirical_sigma3_reflect"], rel=1e-9)


def test_kl_matches_pysaliency_mit_kldiv(maps, expected):
    got = np.mean([kl_div(dens, emp) for dens, emp in maps])
    assert got == pytest.approx(expected["KLDiv_MITparams_vs_empirical"], rel=1e-9)
