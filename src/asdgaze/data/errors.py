"""Errors and warnings raised by the data loaders.

Problems that make a dataset unusable (a missing folder, an unreadable file) raise
:class:`DataError`. Problems the loader can repair by dropping data (fixations outside the
image, table rows naming unknown images) are reported with ``warnings.warn(..., DataWarning)``,
one warning per file, naming the file and the number of items dropped. Turn them into errors
with ``warnings.simplefilter("error", DataWarning)``.
"""

from __future__ import annotations

__all__ = ["DataError", "DataWarning"]

from asdgaze.errors import DataError, DataWarning  # noqa: E402  (one hierarchy: asdgaze.errors)
