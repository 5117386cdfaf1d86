"""Predicted densities as pictures: levels of the cumulative probability, as DeepGaze's authors show them.

The probability of one pixel is tiny and a density's peak narrow, so a picture linear in probability
is nearly black with a few bright specks. pysaliency (the DeepGaze authors' library, its
``visualize_distribution``) shows instead, for each pixel, the share of the total probability held by
the pixels at least as likely (:func:`mass_levels`): the pixels up to a level q are the most likely ones
that together hold a share q of the probability, so the picture reads the same way whatever the
density's shape, peak height or image size.

* PNG (:func:`density_png`): grey ``round(255 * (1 - m))`` for the level m: 255 at the peak, 0 at the
  least likely pixel; the pixels of grey >= 255 * (1 - q) hold a share q. It is not linear in
  probability, and says so in a PNG text chunk (:data:`asdgaze.io.PNG_RENDERING_KEY`) that evaluate reads.
* overlay (:func:`overlay_image`): the image with the regions holding 10 %, 20 %, ..., 90 % of the
  probability tinted in cividis (the report's density colours; the rest is left as it is), and a colour
  bar beside it.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

#: The overlay's regions: the most likely pixels holding 1/BANDS, 2/BANDS, ... of the probability.
BANDS = 10
#: Opacity of the tint over the most likely region and over the last tinted one (the least likely
#: region, which holds the last 1/BANDS of the probability and most of the image, is left as it is).
TINT = (0.75, 0.35)
_STRIP = 64  # rows per strip in the blend: small temporaries


def mass_levels(log_density: np.ndarray) -> np.ndarray:
    """For each pixel the share of the total probability in the pixels at least as likely as it
    (equal values count together): above 0 at the peak, 1 at the least likely pixel.

    >>> mass_levels(np.log(np.array([[0.1, 0.4], [0.3, 0.2]]))).round(6).tolist()
    [[1.0, 0.4], [0.7, 0.9]]
    """
    ld = np.asarray(log_density)
    flat = ld.ravel()
    order = np.argsort(flat)[::-1]  # most likely first (the order among equal values does not matter)
    values = flat[order]
    cum = np.cumsum(np.exp(values.astype(np.float64) - float(values[0])))
    # equal values share the level of the last of them: every pixel at least as likely counts
    last = np.r_[values[1:] != values[:-1], True]
    group_end = np.flatnonzero(last)[np.cumsum(last) - last]
    levels = np.empty(flat.size, np.float64)
    levels[order] = cum[group_end] / cum[-1]
    return levels.reshape(ld.shape)


def density_png(log_density: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
    """8-bit grey picture of a log density: ``round(255 * (1 - m))``, m = :func:`mass_levels`.

    >>> density_png(np.log(np.array([[0.05, 0.6], [0.25, 0.1]]))).tolist()  # levels 1, 0.6, 0.85, 0.95
    [[0, 102], [38, 13]]
    """
    m = mass_levels(log_density) if levels is None else levels
    return np.rint(255.0 * (1.0 - m)).astype(np.uint8)


def bands(levels: np.ndarray) -> np.ndarray:
    """Region index 0..BANDS-1 of each pixel: 0 for the most likely pixels holding 1/BANDS of the probability."""
    return np.clip(np.ceil(levels * BANDS).astype(np.int64) - 1, 0, BANDS - 1).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def band_colours() -> tuple[np.ndarray, np.ndarray]:
    """RGB (uint16) and opacity (uint16, 0..255) of each region, most likely first: cividis from
    yellow (the most likely region) to dark blue, the least likely region white and untinted."""
    import matplotlib

    cmap = matplotlib.colormaps["cividis"]
    tinted = BANDS - 1
    rgb = np.array([cmap(1.0 - k / (tinted - 1))[:3] for k in range(tinted)] + [(1.0, 1.0, 1.0)])
    alpha = np.r_[np.linspace(TINT[0], TINT[1], tinted), 0.0]
    return np.rint(rgb * 255).astype(np.uint16), np.rint(alpha * 255).astype(np.uint16)


def overlay_image(image: np.ndarray, log_density: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8: the image with each region (:func:`bands`) tinted, ``(image * (255 - a) + colour * a) / 255``
    in integers, and :func:`colour_bar` to its right."""
    region = bands(mass_levels(log_density) if levels is None else levels)
    rgb, alpha = band_colours()
    h, w = region.shape
    out = np.empty((h, w, 3), np.uint8)
    for r in range(0, h, _STRIP):
        b = region[r:r + _STRIP]
        a = np.take(alpha, b)[:, :, None]
        out[r:r + _STRIP] = (image[r:r + _STRIP].astype(np.uint16) * (255 - a) + np.take(rgb, b, axis=0) * a
                             + 127) // 255
    return np.concatenate([out, colour_bar(h)], axis=1)


_bar_lock = threading.Lock()  # the cache is shared by writer threads


def colour_bar(height: int) -> np.ndarray:
    """RGB uint8 panel, ``height`` rows: the regions' colours, most likely at the top, each labelled
    with the share of the probability that it and the ones above it hold (10 %, 20 %, ..., 100 %)."""
    with _bar_lock:
        return _colour_bar(int(height))


@functools.lru_cache(maxsize=16)
def _colour_bar(height: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    size = int(np.clip(height // 32, 9, 20))  # text height in pixels
    font = _font(size)
    pad = max(2, size // 3)
    swatch = 2 * size
    labels = [f"{round(100 * (k + 1) / BANDS)} %" for k in range(BANDS)]
    edges = np.rint(np.linspace(0, height, BANDS + 1)).astype(int)
    # label every region, or every 2nd / 5th / only the last where the regions are lower than the text
    step = next((s for s in (1, 2, 5, BANDS) if (edges[1] - edges[0]) * s >= size + 2), None)
    caption = next((c for c in ("most likely pixels holding this share of the probability", "share of the probability")
                    if font is not None and font.getlength(c) <= height - 2 * pad), "")
    if font is None:
        step, label_w = None, 0
    else:
        label_w = max(int(np.ceil(font.getlength(t))) for t in labels)
    width = pad + swatch + pad + label_w + pad + (size + pad if caption else 0)
    bar = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(bar)
    rgb, _ = band_colours()
    for k in range(BANDS):
        # the untinted region: a white swatch, outlined
        draw.rectangle([pad, edges[k], pad + swatch - 1, edges[k + 1] - 1], fill=tuple(int(c) for c in rgb[k]),
                       outline=(128, 128, 128) if k == BANDS - 1 else None)
        if step is not None and (k + 1) % step == 0:
            middle = (edges[k] + edges[k + 1]) / 2 if step == 1 else edges[k + 1] - size / 2 - 1
            draw.text((2 * pad + swatch, middle), labels[k], fill="black", font=font, anchor="lm")
    if caption:  # along the right edge, read bottom to top
        text = Image.new("RGB", (height, size + pad), "white")
        ImageDraw.Draw(text).text((height / 2, (size + pad) / 2), caption, fill="black", font=font, anchor="mm")
        bar.paste(text.transpose(Image.Transpose.ROTATE_90), (width - size - pad, 0))
    return np.asarray(bar)


def _font(size: int):
    """Pillow's own scalable font (Pillow >= 10.1 with FreeType); None without it: no labels then."""
    from PIL import ImageFont

    try:
        font = ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return None
    return font if isinstance(font, ImageFont.FreeTypeFont) else None
