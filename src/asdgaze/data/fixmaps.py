"""Empirical fixation maps: Saliency4ASD's continuous map (``N_s.png``) and the sAUC "otherMap".

The continuous map follows the dataset's own generator (Duan et al., ACM MMSys 2019; recipe in
``docs/specs/metrics.md`` §1): the binary fixation map F (1 at each fixated pixel) is filtered
with ``fspecial('gaussian', 258, 43)`` (zero padding, 'same' size), then min-max scaled
(``mat2gray``) and written as 8-bit PNG (``im2uint8``).

The 258-tap kernel has even length, so its samples sit at offsets -128.5 ... +128.5 and MATLAB
anchors it on element 129 (1-based). Written out, output pixel i gets
``sum_d g(d - 0.5) * F[i + d]`` for d = -128 ... 129, with g(t) = exp(-t^2 / (2 * 43^2)) / Z.
The 2-D Gaussian is separable, so we apply this 1-D correlation along rows and columns as two
small matrix products restricted to the fixated rows/columns (F is sparse), which is exact up to
float rounding and takes milliseconds.
"""

from __future__ import annotations

import numpy as np

from asdgaze.data._checks import check_binary_map
from asdgaze.data.errors import DataError
from asdgaze.data.types import Dataset
from asdgaze.io import read_gray_png

from asdgaze.recipe import S4A_KERNEL_SIZE, S4A_SIGMA

__all__ = [
    "S4A_KERNEL_SIZE",
    "S4A_SIGMA",
    "continuous_map",
    "other_fixation_map",
    "saliency4asd_fixation_map",
    "to_png8",
]


def _kernel_1d(size: int, sigma: float) -> tuple[np.ndarray, int]:
    """Normalised 1-D samples of fspecial's Gaussian and the 0-based index of the anchor tap.

    fspecial samples at -(size-1)/2 ... +(size-1)/2; MATLAB's imfilter/conv2 'same' anchor the
    kernel on element floor((size+1)/2) (1-based), i.e. index (size-1)//2 here.
    """
    t = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(t * t) / (2.0 * sigma * sigma))
    # fspecial also zeroes samples below eps*max; for sigma=43, size=258 none is that small,
    # and the 2-D kernel equals the outer product of this 1-D one up to rounding.
    return g / g.sum(), (size - 1) // 2


def _filter_matrix(n: int, idx: np.ndarray, g: np.ndarray, anchor: int) -> np.ndarray:
    """Matrix M (n x len(idx)) with M[i, j] = g[idx[j] - i + anchor] (0 outside the kernel).

    out[i] = sum_k g[k] * F[i + k - anchor] (correlation, zero padding) restricted to the input
    positions ``idx``.
    """
    k = idx[None, :] - np.arange(n)[:, None] + anchor
    inside = (k >= 0) & (k < len(g))
    return np.where(inside, g[np.clip(k, 0, len(g) - 1)], 0.0)


def saliency4asd_fixation_map(
    binary: np.ndarray, *, sigma: float = S4A_SIGMA, kernel_size: int = S4A_KERNEL_SIZE
) -> np.ndarray:
    """Continuous fixation map exactly as Saliency4ASD builds ``N_s.png`` (before 8-bit rounding).

    C = minmax(F (*) G), with G = ``fspecial('gaussian', kernel_size, sigma)`` (sum 1), (*) the
    zero-padded 'same'-size filter with MATLAB's even-kernel anchor (a half-pixel shift), and
    minmax(A) = (A - min A) / (max A - min A). ``to_png8(C)`` reproduces the shipped PNG.

    Args:
        binary: (H, W) fixation map; nonzero/True marks a fixated pixel (duplicates collapse).
        sigma: Gaussian standard deviation in pixels (43 for Saliency4ASD).
        kernel_size: kernel width in pixels (258 = 6 * 43 for Saliency4ASD).

    Returns:
        float64 (H, W) in [0, 1]. All zeros when F has no fixated pixel (min-max is undefined).

    Reference: Duan et al., "A dataset of eye movements for the children with autism spectrum
    disorder", ACM MMSys 2019 (dataset generator); docs/specs/metrics.md §1.

    Example:
        >>> f = np.zeros((5, 6), dtype=bool); f[2, 3] = True
        >>> c = saliency4asd_fixation_map(f)
        >>> c.shape, float(c.max()), float(c.min())
        ((5, 6), 1.0, 0.0)
        >>> bool(c[2, 3] == 1.0)
        True
    """
    fmap = check_binary_map(binary, "binary")
    h, w = fmap.shape
    rows, cols = np.nonzero(fmap)
    if len(rows) == 0:
        return np.zeros((h, w), dtype=np.float64)
    g, anchor = _kernel_1d(int(kernel_size), float(sigma))
    ur, r_inv = np.unique(rows, return_inverse=True)
    uc, c_inv = np.unique(cols, return_inverse=True)
    # F restricted to its fixated rows/cols: F_sub[a, b] = F[ur[a], uc[b]].
    f_sub = np.zeros((len(ur), len(uc)), dtype=np.float64)
    f_sub[r_inv, c_inv] = 1.0
    out = _filter_matrix(h, ur, g, anchor) @ f_sub @ _filter_matrix(w, uc, g, anchor).T
    lo, hi = out.min(), out.max()
    if hi == lo:
        # Only possible for a tiny map that is flat after filtering; MATLAB's mat2gray
        # would divide by zero. A constant map carries no information: return zeros.
        return np.zeros((h, w), dtype=np.float64)
    return (out - lo) / (hi - lo)


def to_png8(map01: np.ndarray) -> np.ndarray:
    """Convert a map in [0, 1] to uint8 as MATLAB ``im2uint8`` does.

    u = round(255 * clip(x, 0, 1)), rounding half away from zero (MATLAB ``round``, not numpy's
    round-half-to-even); NaN becomes 0.

    Args:
        map01: float array of any shape, nominally in [0, 1].

    Returns:
        uint8 array of the same shape.

    Example:
        >>> to_png8(np.array([0.0, 0.5, 1 / 255 * 2.5, 1.0, 1.7, -0.2]))
        array([  0, 128,   3, 255, 255,   0], dtype=uint8)
    """
    a = np.asarray(map01, dtype=np.float64)
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)
    return np.floor(a * 255.0 + 0.5).astype(np.uint8)


def _read_gray01(path) -> np.ndarray:
    """A grayscale map PNG as float64 in [0, 1] (8-bit / 255, 16-bit / 65535)."""
    try:
        return read_gray_png(path)
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def continuous_map(dataset: Dataset, group: str, stimulus_id: str) -> np.ndarray:
    """The continuous fixation map C of one group on one image, float64 (H, W) in [0, 1].

    The shipped ``N_s.png`` divided by 255 where the dataset has one (its size must equal the
    image's size), else ``saliency4asd_fixation_map`` of the group's binary fixation map (all
    zeros if the group has no fixation on the image), with the dataset's Gaussian
    (``dataset.fixmap_sigma``: 43 px and a 258-tap kernel for Saliency4ASD; a 6-sigma kernel otherwise).

    Args:
        dataset: a loaded :class:`~asdgaze.data.types.Dataset`.
        group: group name, e.g. ``"TD"``.
        stimulus_id: image id (file stem), e.g. ``"17"``.

    Example:
        >>> from asdgaze.data.types import Dataset, Fixations, Stimulus
        >>> from pathlib import Path
        >>> ds = Dataset("toy", Path("."), {"1": Stimulus("1", Path("1.png"), 4, 5)},
        ...              {"all": {"1": Fixations.from_arrays([1.0], [2.0])}})
        >>> c = continuous_map(ds, "all", "1")
        >>> c.shape, float(c[2, 1])
        ((4, 5), 1.0)
    """
    stim = _stimulus(dataset, stimulus_id)
    fixations = dataset.fixations_for(group, stimulus_id)
    path = dataset.fixation_maps.get(group, {}).get(stimulus_id)
    if path is not None:
        cmap = _read_gray01(path)
        if cmap.shape != stim.shape:
            raise DataError(
                f"{path}: fixation map is {cmap.shape[0]}x{cmap.shape[1]} (HxW) but image "
                f"{stim.path} is {stim.height}x{stim.width}"
            )
        return cmap
    # the dataset format's recipe (another Gaussian for a fixation table's --fixmap-sigma: a 6-sigma kernel)
    recipe = dataset.format.recipe(dataset.fixmap_sigma)
    return saliency4asd_fixation_map(fixations.binary_map(stim.height, stim.width), sigma=recipe.sigma,
                                     kernel_size=recipe.kernel_taps)


def other_fixation_map(
    dataset: Dataset,
    group: str,
    stimulus_id: str,
    *,
    n_other: int | None,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """The "otherMap" of the MIT shuffled AUC: fixations of other images of the same group.

    Candidates are the OTHER images (id != ``stimulus_id``) on which ``group`` has at least one
    fixation, in the dataset's stimulus order. ``n_other`` of them are drawn without replacement
    with ``rng.choice`` (all of them when ``n_other`` is None, or when fewer exist). Each of their
    fixations (x, y) (0-based) is rescaled proportionally to this image's size,
    x' = x * W_this / W_other, y' = y * H_this / H_other (as pysaliency does), then floored and
    clipped into [0, W_this - 1] x [0, H_this - 1]; otherMap is True at every such pixel.

    Args:
        dataset: a loaded dataset.
        group: group whose fixations are used (sAUC takes other images of the same group).
        stimulus_id: the image being scored (excluded).
        n_other: number of other images (MIT/Borji use 10), or None for all of them.
        rng: generator for the draw; may be None only when every candidate is used.

    Returns:
        bool (H_this, W_this).

    Reference: Borji et al., ICCV 2013 / MIT benchmark ``AUC_shuffled``; docs/specs/metrics.md §3.3.

    Example:
        >>> from asdgaze.data.types import Dataset, Fixations, Stimulus
        >>> from pathlib import Path
        >>> st = {"a": Stimulus("a", Path("a.png"), 4, 4), "b": Stimulus("b", Path("b.png"), 8, 8)}
        >>> fx = {"g": {"a": Fixations.from_arrays([0.0], [0.0]), "b": Fixations.from_arrays([6.0], [2.0])}}
        >>> m = other_fixation_map(Dataset("toy", Path("."), st, fx), "g", "a", n_other=None, rng=None)
        >>> [tuple(int(v) for v in p) for p in np.argwhere(m)]
        [(1, 3)]
    """
    this = _stimulus(dataset, stimulus_id)
    if group not in dataset.fixations:
        raise KeyError(f"group {group!r} not in dataset {dataset.name!r} (groups: {', '.join(dataset.groups)})")
    if n_other is not None and (int(n_other) != n_other or n_other < 0):
        raise ValueError(f"n_other must be a non-negative integer or None, got {n_other!r}")
    per_image = dataset.fixations[group]
    candidates = [
        sid for sid in dataset.stimuli if sid != stimulus_id and len(per_image.get(sid, ())) > 0
    ]
    if n_other is not None and n_other < len(candidates):
        if rng is None:
            raise ValueError("rng is required when n_other is smaller than the number of other images")
        picks = rng.choice(len(candidates), size=int(n_other), replace=False)
        candidates = [candidates[i] for i in np.sort(picks)]
    h, w = this.shape
    out = np.zeros((h, w), dtype=bool)
    for sid in candidates:
        other = dataset.stimuli[sid]
        fx = per_image[sid]
        cols = np.clip(np.floor(fx.x * w / other.width).astype(np.int64), 0, w - 1)
        rows = np.clip(np.floor(fx.y * h / other.height).astype(np.int64), 0, h - 1)
        out[rows, cols] = True
    return out


def _stimulus(dataset: Dataset, stimulus_id: str):
    try:
        return dataset.stimuli[stimulus_id]
    except KeyError:
        raise KeyError(f"image {stimulus_id!r} not in dataset {dataset.name!r}") from None
