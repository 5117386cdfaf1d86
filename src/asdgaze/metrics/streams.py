"""Deterministic random streams per (seed, image, group, metric).

Each stream is ``np.random.default_rng(SeedSequence([seed, key(image_id), key(group),
key(metric)]))`` where ``key`` is the first 8 bytes of BLAKE2b of the UTF-8 string, read as a
little-endian integer. A value therefore depends only on its own identifiers, never on how many
images were scored before it or in which process.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["metric_rng"]


def _key(value: object) -> int:
    return int.from_bytes(hashlib.blake2b(str(value).encode("utf-8"), digest_size=8).digest(), "little")


def metric_rng(seed: int, image_id: object, group: object, metric: str) -> np.random.Generator:
    """The random Generator for one metric of one group on one image.

    Args:
        seed: non-negative base seed of the run.
        image_id: image identifier (converted with ``str``).
        group: group name, e.g. ``"ASD"``.
        metric: metric name, e.g. ``"auc_judd"``.

    Example:
        >>> a = metric_rng(0, "17", "ASD", "auc_judd").random()
        >>> a == metric_rng(0, "17", "ASD", "auc_judd").random()
        True
        >>> a == metric_rng(0, "17", "TD", "auc_judd").random()
        False
    """
    if isinstance(seed, bool) or int(seed) < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), _key(image_id), _key(group), _key(metric)])
    )
