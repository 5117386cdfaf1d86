"""AUC-Borji of a density: the MIT code's thresholds (steps of 0.1 of the map's own range) see nothing below the
first step, where a peaked density keeps most of its pixels; the report says what that means when it shows one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from asdgaze.metrics.auc import auc_borji, auc_judd
from asdgaze.report.prose import AUC_BORJI_OF_A_DENSITY, caveats


def test_levels_below_the_first_threshold_count_for_judd_and_not_for_borji():
    # A 10x10 square at 1, the rest a gradient below 0.1; half of the 100 fixations in the square, half on the
    # background's top values. Hand: Borji's curve is (0,0) -> (fp, 0.5) -> (1,1) with fp the share of the random
    # pixels in the square (1 % expected), area fp*0.5/2 + (1-fp)*1.5/2 = 0.74625 at fp = 0.01; Judd ranks the
    # background fixations above 98 % of the background, so it is at least 0.5 + 0.5 * 0.98 = 0.99.
    h = w = 100
    sal = np.tile(np.linspace(0.0, 0.09, w), (h, 1))
    sal[:10, :10] = 1.0
    fix = np.zeros((h, w), bool)
    fix[:5, :10] = True                   # 50 in the square
    fix[50:100, w - 1] = True             # 50 on the background's highest column
    borji = auc_borji(sal, fix, rng=np.random.default_rng(0))
    judd = auc_judd(sal, fix, rng=np.random.default_rng(0))
    assert abs(borji - (0.01 * 0.5 / 2 + 0.99 * 1.5 / 2)) < 0.01
    assert judd >= 0.99 and judd - borji > 0.2


def _caveats(saliency_map: str) -> list[str]:
    per_image = pd.DataFrame({"metric": ["auc_borji", "auc_judd"], "saliency_map": saliency_map,
                              "model": "m", "value": [0.5, 0.7]})
    res = SimpleNamespace(manifests={}, per_image=per_image)
    cmp = SimpleNamespace(notes=[], participants=None)
    return caveats(res, cmp)


def test_the_report_explains_auc_borji_only_where_a_density_was_scored():
    assert AUC_BORJI_OF_A_DENSITY in _caveats("exp(log p) scaled to max 1 (float64)")
    assert AUC_BORJI_OF_A_DENSITY not in _caveats("as given (8-bit PNG)")
