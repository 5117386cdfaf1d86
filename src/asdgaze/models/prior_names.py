"""The names of priors, shared by every option that takes one (``--centerbias``, ``--ig-baseline``,
``--prob-ig-baseline``; ``--baselines`` takes the same names for the same models).

- fixed (need no fixations): ``uniform``, ``gaussian`` (the fixed centre Gaussian), ``mit1003`` (the
  published MIT1003 template; ``centerbias-mit1003`` is the same);
- fitted to the fixations: ``centerbias``, ``other-group``;
- anything else is a file.
"""

from __future__ import annotations

__all__ = ["FIXED", "FITTED", "ALIASES", "canonical"]

FIXED = ("uniform", "gaussian", "mit1003")
FITTED = ("centerbias", "other-group")
ALIASES = {"centerbias-mit1003": "mit1003"}


def canonical(option: object) -> str:
    """A prior's canonical name (aliases resolved), or "file" for anything else.

    >>> canonical("centerbias-mit1003"), canonical("gaussian"), canonical("cb.npy")
    ('mit1003', 'gaussian', 'file')
    """
    name = ALIASES.get(str(option), str(option))
    return name if name in FIXED + FITTED else "file"
