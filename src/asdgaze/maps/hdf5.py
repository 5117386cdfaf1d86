"""Log-densities from one HDF5 file (``predict --outputs hdf5``, pysaliency's ``export_model_to_hdf5``).

Layout (the one pysaliency's ``HDF5Model`` reads): one float dataset per stimulus, named by the
stimulus file name (``"12.png"``), holding the (H, W) natural-log density. pysaliency names a
dataset by the shortest end of the stimulus's path that tells the exported stimuli apart, so a file
exported from images in several folders has nested names (``"TrainingData/Images/12.png"``, groups
in HDF5 terms); a dataset matches a stimulus when its name is an end of the stimulus's path (whole
path parts; the longest such name wins). A dataset named by the stem alone (``"12"``, top level) is
accepted where no such name exists; a stem and a file name for one stimulus are ambiguous and
refused. Such a file always holds log-densities.

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

    def shape(self) -> tuple[int, ...]:
        """The dataset's shape from its header (no value is read); MapError as :meth:`read`."""
        return self._open(lambda ds: tuple(int(n) for n in ds.shape or ()))  # None: an empty dataspace

    def read(self) -> np.ndarray:
        """The dataset's values as they are stored; MapError for a dataset that is no float array."""
        return self._open(lambda ds: np.asarray(ds[()]))

    def _open(self, use):
        """``use(dataset)`` with the file open, once the dataset is known to be a float array."""
        import h5py

        try:
            with h5py.File(self.file, "r") as f:
                obj = f.get(self.name)
                if not isinstance(obj, h5py.Dataset):
                    raise MapError(f"{self}: not a dataset (an HDF5 group or a link)")
                if obj.dtype.kind != "f":
                    raise MapError(f"{self}: expected floating-point log-density values, got dtype {obj.dtype}")
                return use(obj)
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
    the stimulus's path in whole parts (the longest wins), or is the stem alone at the top level
    (``"12"``; refused beside a file name).

    Returns (found: stem -> H5Map, missing stems, extra dataset names matching no stimulus).

    Raises:
        MapError: no such file, not an HDF5 file, unreadable, or a stimulus named by its stem and a file name.
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
            keys, groups = _names(f)
    except (OSError, KeyError, ValueError) as e:
        raise MapError(f"{path}: cannot read the HDF5 file ({e})") from None
    # "/"-separated, also for a name written on Windows ("a\\imgs\\1.png" at the top level)
    present = {k.replace("\\", "/"): k for k in keys}
    # a group named like an image is matched too, so the image fails as "not a dataset", not "missing"
    for g in groups:
        present.setdefault(g, g)
    found: dict[str, H5Map] = {}
    missing: list[str] = []
    used: dict[str, str] = {}  # dataset -> the image it was matched to
    for stem, stimulus_path in stimuli.items():
        ends = [e for e in path_ends(stimulus_path) if e in present]
        if ends and stem in present and stem not in ends:
            raise MapError(f"{path}: datasets {present[ends[-1]]!r} and {present[stem]!r} both name image {stem}; "
                           "keep one")
        # the longest end wins: pysaliency names a dataset by as much of its path as tells the
        # exported images apart, so "1.png" there may belong to another folder's image
        hit = ends[-1] if ends else stem if stem in present else None
        if hit is None:
            missing.append(stem)
        elif present[hit] in used:  # e.g. '1.png' for images 1 and a/1 of a table's sub-folders
            raise MapError(f"{path}: dataset {present[hit]!r} matches images {used[present[hit]]} and {stem}; "
                           "name each image's dataset by as much of its path as tells them apart (a/1.png)")
        else:
            found[stem] = H5Map(path, present[hit])
            used[present[hit]] = stem
    extra = [k for k in keys if k not in used]
    return found, missing, extra


def path_ends(stimulus_path: str | Path) -> list[str]:
    """The ends of a path in whole parts, shortest first: ``a/Images/12.png`` -> ``12.png``,
    ``Images/12.png``, ``a/Images/12.png`` (the names pysaliency may give its dataset)."""
    parts = [p for p in Path(stimulus_path).parts if p != Path(stimulus_path).anchor]
    return ["/".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]


def _names(f) -> tuple[list[str], list[str]]:
    """(every name that is not a group, every group's name), with their groups (``"Images/12.png"``),
    in file order. Soft and external links are names, not followed (a link may point back up the
    tree); a group reached twice through hard links is listed once."""
    import h5py

    names: list[str] = []
    groups: list[str] = []
    seen = set()

    def walk(group, prefix: str) -> None:
        for name in group.keys():
            full = f"{prefix}{name}"
            obj = group.get(name) if isinstance(group.get(name, getlink=True), h5py.HardLink) else None
            if isinstance(obj, h5py.Group):
                groups.append(full)
                if obj.id not in seen:
                    seen.add(obj.id)
                    walk(obj, f"{full}/")
            else:  # a dataset, or a link: it fails as "not a dataset" when read if it leads nowhere
                names.append(full)

    seen.add(f["/"].id)  # the root: a hard link back to it is not walked again
    walk(f, "")
    return names, groups


def stimulus_paths(stimuli: Mapping[str, object]) -> dict[str, str]:
    """stem -> the stimulus's absolute path (``Stimulus.path``), whose ends name its dataset (absolute:
    a dataset loaded from a relative folder still matches ``TrainingData/Images/12.png``)."""
    return {stem: str(Path(getattr(st, "path")).absolute()) for stem, st in stimuli.items()}


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
