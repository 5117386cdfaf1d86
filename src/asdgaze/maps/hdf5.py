"""Log-densities from one HDF5 file (``predict --outputs hdf5``, pysaliency's ``export_model_to_hdf5``).

Layout (the one pysaliency's ``HDF5Model`` reads): one float dataset per stimulus, named by the
stimulus file name (``"12.png"``), holding the (H, W) natural-log density. pysaliency names a
dataset by the shortest end of the stimulus's path that tells the exported stimuli apart, so a file
exported from images in several folders has nested names (``"TrainingData/Images/12.png"``, groups
in HDF5 terms); a dataset matches a stimulus when its name is an end of the stimulus's path (whole
path parts). A dataset named by the stem alone (``"12"``, top level) is accepted where no such name
exists; two names for one stimulus are ambiguous and refused. Such a file always holds log-densities.

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


def find_h5_maps(path: str | Path, stimuli: Mapping[str, str | Path]
                 ) -> tuple[dict[str, H5Map], list[str], list[str]]:
    """Match the datasets of ``path`` to stimuli; ``stimuli``: stem -> the stimulus's path (or file name).

    A dataset matches a stimulus when its name (with its groups: ``"Images/12.png"``) is an end of
    the stimulus's path in whole parts, or is the stem alone at the top level (``"12"``).

    Returns (found: stem -> H5Map, missing stems, extra dataset names matching no stimulus).

    Raises:
        MapError: no such file, not an HDF5 file, unreadable, or a stimulus named by two datasets.
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
            keys = _dataset_names(f)
    except (OSError, KeyError, ValueError) as e:
        raise MapError(f"{path}: cannot read the HDF5 file ({e})") from None
    present = set(keys)
    found: dict[str, H5Map] = {}
    missing: list[str] = []
    used: set[str] = set()
    for stem, stimulus_path in stimuli.items():
        hits = [k for k in dict.fromkeys(path_ends(stimulus_path) + [stem]) if k in present]
        if len(hits) > 1:
            raise MapError(f"{path}: datasets {hits[0]!r} and {hits[1]!r} both name image {stem}; keep one")
        if hits:
            found[stem] = H5Map(path, hits[0])
            used.add(hits[0])
        else:
            missing.append(stem)
    extra = [k for k in keys if k not in used]
    return found, missing, extra


def path_ends(stimulus_path: str | Path) -> list[str]:
    """The ends of a path in whole parts, shortest first: ``a/Images/12.png`` -> ``12.png``,
    ``Images/12.png``, ``a/Images/12.png`` (the names pysaliency may give its dataset)."""
    parts = [p for p in Path(stimulus_path).parts if p != Path(stimulus_path).anchor]
    return ["/".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]


def _dataset_names(group, prefix: str = "") -> list[str]:
    """Every name in the file that is not a group, with its groups (``"Images/12.png"``), in file order."""
    import h5py

    names: list[str] = []
    for name in group.keys():
        obj = group.get(name)  # None for a broken link: listed, and fails as "not a dataset" when read
        if isinstance(obj, h5py.Group):
            names += _dataset_names(obj, f"{prefix}{name}/")
        else:
            names.append(f"{prefix}{name}")
    return names


def stimulus_paths(stimuli: Mapping[str, object]) -> dict[str, str]:
    """stem -> the stimulus's path (``Stimulus.path``), whose ends name its dataset."""
    return {stem: str(getattr(st, "path")) for stem, st in stimuli.items()}


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
            "(datasets are matched by the image's file name, e.g. 12.png, or an end of its path, e.g. "
            "Images/12.png, or its stem)")
