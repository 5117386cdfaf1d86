"""The errors a user meets. Anything else escaping asdgaze is a bug and is reported as one.

Per-image failures (a bad map, a missing scanpath file) are recorded only for these classes;
pipelines let every other exception surface.
"""

from __future__ import annotations

__all__ = ["AsdgazeError", "DataError", "MapError", "WeightsError", "OptionsError", "DataWarning"]


class AsdgazeError(Exception):
    """Base of every error caused by the user's inputs or options; the message names file and problem."""


class DataError(AsdgazeError, ValueError):
    """Input data (images, fixations, dataset layout) that cannot be used."""


class MapError(AsdgazeError, ValueError):
    """A saliency map or template that cannot be used."""


class WeightsError(AsdgazeError, RuntimeError):
    """Model weights or reference files that are missing or not what they claim to be."""


class OptionsError(AsdgazeError, ValueError):
    """Options that contradict each other or the data (unknown group, metric, output folder in use)."""


class DataWarning(UserWarning):
    """Input data was repaired by dropping something; the message says what, where and how many."""
