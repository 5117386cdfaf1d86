"""A permutation test of the group difference that respects Saliency4ASD's design.

What is exchangeable: Saliency4ASD gives no child ids across images (the k-th viewer of one
image need not be the k-th viewer of another), so the only thing the null hypothesis "the
model fits both groups equally well" lets us swap is the group label of a *scanpath within an
image*. Each permutation shuffles, independently in every image, which of that image's
scanpaths are called group A and which group B (keeping both group sizes), recomputes each
group's score on the image, and averages the difference A - B over images.

Only metrics that are averages over fixations can be recomputed cheaply this way
(log-likelihood, information gain, NSS, AUC as a rank statistic): the scoring step supplies one
value per fixation (:class:`FixationValues`) and a permutation is a re-averaging. Map metrics
(CC, KL, SIM, EMD, AUC-Borji, shuffled AUC) would need both groups' fixation maps rebuilt and
rescored per permutation; they are not permuted (``n_permutations`` 0, ``p_permutation`` NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from asdgaze.errors import OptionsError

DEFAULT_PERMUTATIONS = 1_000


@dataclass(frozen=True)
class FixationValues:
    """Per-fixation scores of one group on one image.

    values: one score per fixation (e.g. the log-density at the fixation for log-likelihood, the
        z-scored map value for NSS). The group's score on the image is their mean.
    viewer: the scanpath (viewer) id of each fixation, same length; ids need only be distinct
        within the (image, group). Permutations move whole scanpaths between groups.
    """

    values: np.ndarray
    viewer: np.ndarray

    def __post_init__(self) -> None:
        v, w = np.asarray(self.values, dtype=float), np.asarray(self.viewer)
        if v.ndim != 1 or v.shape != w.shape:
            raise OptionsError(f"FixationValues: values {v.shape} and viewer {w.shape} must be 1-D and equal")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "viewer", w)


#: (image, group) -> that group's per-fixation values on that image.
PerFixation = Mapping[tuple[str, str], FixationValues]


@dataclass(frozen=True)
class PermutationResult:
    observed: float  # mean over images of (score A - score B)
    p_value: float  # two-sided, (1 + #{|T*| >= |T|}) / (1 + n_permutations)
    n_permutations: int
    n_images: int
    null: np.ndarray  # the permuted statistics


def _per_viewer(f: FixationValues) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(f.values)
    ids, inv = np.unique(f.viewer[ok], return_inverse=True)
    return np.bincount(inv, weights=f.values[ok], minlength=len(ids)), np.bincount(inv, minlength=len(ids))


def permutation_test(per_fixation: PerFixation, group_a: str, group_b: str, *,
                     n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0) -> PermutationResult:
    """Within-image permutation test of the mean over images of score(A) - score(B).

    Images where either group has no finite per-fixation value are left out. The random
    stream visits images in sorted order, so the result does not depend on the mapping's order.

    Example:
        >>> pf = {("1", "A"): FixationValues(np.array([1.0, 1.0]), np.array([0, 1])),
        ...       ("1", "B"): FixationValues(np.array([0.0, 0.0]), np.array([0, 1]))}
        >>> r = permutation_test(pf, "A", "B", n_permutations=99)
        >>> r.observed, r.n_images
        (1.0, 1)
    """
    if n_permutations < 1:
        raise OptionsError(f"n_permutations must be >= 1, got {n_permutations}")
    rng = np.random.default_rng(seed)
    images = sorted({img for img, g in per_fixation if g == group_a} & {img for img, g in per_fixation if g == group_b})
    observed, null, n_used = 0.0, np.zeros(n_permutations), 0
    for image in images:
        sa, ca = _per_viewer(per_fixation[(image, group_a)])
        sb, cb = _per_viewer(per_fixation[(image, group_b)])
        if ca.sum() == 0 or cb.sum() == 0:
            continue
        sums, counts, na = np.concatenate([sa, sb]), np.concatenate([ca, cb]), len(sa)
        observed += sa.sum() / ca.sum() - sb.sum() / cb.sum()
        order = rng.permuted(np.tile(np.arange(len(sums)), (n_permutations, 1)), axis=1)
        s_a, c_a = sums[order[:, :na]].sum(axis=1), counts[order[:, :na]].sum(axis=1)
        s_b, c_b = sums.sum() - s_a, counts.sum() - c_a
        with np.errstate(invalid="ignore", divide="ignore"):  # a viewer set with no fixations: NaN, below
            null += s_a / c_a - s_b / c_b
        n_used += 1
    if n_used == 0:
        return PermutationResult(float("nan"), float("nan"), 0, 0, np.zeros(0))
    observed /= n_used
    null /= n_used
    # A permutation equal to the observed labelling must count as "as extreme" despite rounding.
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = int(np.sum(np.abs(null) >= abs(observed) - tol))
    return PermutationResult(float(observed), (1 + extreme) / (1 + n_permutations), n_permutations, n_used, null)


def per_fixation_from_table(table: pd.DataFrame) -> dict[tuple[str, str, str], dict[tuple[str, str], FixationValues]]:
    """Split a ``per_fixation.csv`` table (model, convention, metric, image, group, viewer, value)
    into one :data:`PerFixation` mapping per (model, convention, metric)."""
    need = ["model", "convention", "metric", "image", "group", "viewer", "value"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise OptionsError(f"per_fixation.csv: missing column(s) {', '.join(missing)}")
    out: dict = {}
    for (model, conv, metric, image, group), t in table.groupby(need[:5], sort=True):
        out.setdefault((str(model), str(conv), str(metric)), {})[(str(image), str(group))] = FixationValues(
            t["value"].to_numpy(dtype=float), t["viewer"].astype(str).to_numpy())
    return out
