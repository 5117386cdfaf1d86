"""The errors a user meets. Anything else escaping asdgaze is a bug and is reported as one.

Per-image failures (a bad map, a missing scanpath file) are recorded only for these classes;
pipelines let every other exception surface.
"""

from __future__ import annotations

import errno as _errno

__all__ = ["AsdgazeError", "DataError", "MapError", "WeightsError", "OptionsError", "OutputError", "DataWarning"]


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


class OutputError(AsdgazeError, OSError):
    """An output that cannot be written (disk full, read-only folder, no permission): "<path>: cannot
    write (<reason>)". ``errno`` is the operating system's; the run stops, and what it finished stays."""

    @classmethod
    def with_errno(cls, message: str, errno: int | None) -> OutputError:
        err = cls(message)  # one argument: str() is the message, without "[Errno N]"
        err.errno = errno
        return err

    def __reduce__(self):  # errno survives the trip back from a writer process
        return type(self).with_errno, (str(self), self.errno)

    def resumable(self, done: int, total: int, saved_in: object) -> OutputError:
        """This error plus how far the run got and how to go on (a rerun of the same command resumes)."""
        if self.errno in (_errno.ENOSPC, _errno.EDQUOT, _errno.EFBIG):
            fix = "free space"
        elif self.errno in (_errno.EROFS, _errno.EACCES, _errno.EPERM):
            fix = "make the folder writable"
        else:
            fix = "fix that"
        return self.with_errno(f"{self}\n{done} of {total} images finished (saved in {saved_in}); {fix} and rerun "
                               "the same command to resume", self.errno)


class DataWarning(UserWarning):
    """Input data was repaired by dropping something; the message says what, where and how many."""
