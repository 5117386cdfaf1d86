"""Log-densities from one HDF5 file (``predict --outputs hdf5``, pysaliency's ``export_model_to_hdf5``).

Layout (the one pysaliency's ``HDF5Model`` reads): one float dataset per stimulus at the file's top
level, named by the stimulus file name (``"12.png"``), holding the (H, W) natural-log density. A
dataset named by the stem alone (``"12"``) is accepted where the file name is absent; both at once
is ambiguous and refused. Such a file always holds log-densities.

The file is opened read-only for each read and closed again, so no h5py handle lives across a fork
into the worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from asdgaze.errors import MapError

HDF5_SUFFIXES = (".hdf5", ".h5")


@dataclass(frozen=True)
class H5Map:
    """One stimulus's log-density: dataset ``name`` of HDF5 file ``file``; reads as "<file>:<name>"."""

    file: Path
    name: str

    def __str__(self) -> str:
        return f"{self.file}:{self.name}"

    def read(self) -> np.ndarray:
        """The dataset's values as they are stored; MapError for a dataset that is no float array."""
        import h5py

        try:
            with h5py.File(self.file, "r") as f:
                obj = f.get(self.name)
                if not isinstance(obj, h5py.Dataset):
                    raise MapError(f"{self}: not a dataset (an HDF5 group or a link)")
                if obj.dtype.kind != "f":
                    raise MapError(f"{self}: expected floating-point log-density values, got dtype {obj.dtype}")
                return np.asarray(obj[()])
        except MapError:
            raise
        except (OSError, KeyError, ValueError, TypeError) as e:  # h5py's errors for damaged content
            raise MapError(f"{self}: cannot read ({e})") from None

    def digest(self) -> str:
        """sha256 of the dataset's shape, dtype and bytes: the resume key of this one map."""
        h = hashlib.sha256()
        try:
            arr = self.read()
        except MapError as e:  # the image fails when it is scored; the key still tells this content apart
            h.update(f"error:{e}".encode())
            return h.hexdigest()
        h.update(f"{arr.shape}/{arr.dtype.str}/".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def is_hdf5_source(path: str | Path) -> bool:
    """A ``--maps`` source that names a file, not a folder: read as HDF5 (and refused if it is not)."""
    p = Path(path)
    return p.is_file() or (not p.is_dir() and p.suffix.lower() in HDF5_SUFFIXES)


def find_h5_maps(path: str | Path, names: Mapping[str, str]) -> tuple[dict[str, H5Map], list[str], list[str]]:
    """Match the datasets of ``path`` to stimuli; ``names``: stem -> stimulus file name (``"12.png"``).

    Returns (found: stem -> H5Map, missing stems, extra dataset names matching no stimulus).

    Raises:
        MapError: no such file, not an HDF5 file, unreadable, or a stimulus named twice (file name and stem).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: no such HDF5 file")
    try:
        hdf5 = h5py.is_hdf5(str(path))
    except OSError as e:
        raise MapError(f"{path}: cannot read ({e.strerror or e})") from None
    if not hdf5:
        raise MapError(f"{path}: not an HDF5 file (--maps takes a folder of maps or an .hdf5 file of log-densities)")
    try:
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
    except (OSError, KeyError, ValueError) as e:
        raise MapError(f"{path}: cannot read the HDF5 file ({e})") from None
    present = set(keys)
    found: dict[str, H5Map] = {}
    missing: list[str] = []
    used: set[str] = set()
    for stem, file_name in names.items():
        hits = [k for k in dict.fromkeys((file_name, stem)) if k in present]
        if len(hits) > 1:
            raise MapError(f"{path}: datasets {hits[0]!r} and {hits[1]!r} both name image {stem}; keep one")
        if hits:
            found[stem] = H5Map(path, hits[0])
            used.add(hits[0])
        else:
            missing.append(stem)
    extra = [k for k in keys if k not in used]
    return found, missing, extra


def stimulus_file_names(stimuli: Mapping[str, object]) -> dict[str, str]:
    """stem -> the stimulus's file name (``Stimulus.path.name``), the dataset name pysaliency uses."""
    return {stem: Path(getattr(st, "path")).name for stem, st in stimuli.items()}


def map_digest(ref: object) -> str:
    """The resume key of one map: sha256 of a file, or of an HDF5 dataset (shape, dtype, bytes)."""
    if isinstance(ref, H5Map):
        return ref.digest()
    from asdgaze.io import sha256_file

    return sha256_file(ref)  # type: ignore[arg-type]


def describe_extra(path: Path, extra: Iterable[str]) -> str | None:
    """The note for datasets that match no stimulus (not scored), or None when there are none."""
    extra = list(extra)
    if not extra:
        return None
    shown = ", ".join(extra[:10]) + (f", ... ({len(extra)} in all)" if len(extra) > 10 else "")
    return (f"{path}: {len(extra)} dataset(s) match no image of the dataset and were not scored: {shown} "
            "(datasets are matched by the image's file name, e.g. 12.png, or its stem)")
