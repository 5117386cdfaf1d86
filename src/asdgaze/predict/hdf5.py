"""``maps.hdf5``: every log density of a run in one HDF5 file, for pysaliency and the Tübingen tools.

Layout (the one pysaliency's ``HDF5Model`` reads): one float dataset per stimulus at the file's
top level, named by the stimulus file name (e.g. ``"12.png"``), holding the (H, W) log density.
Built at the end of a run from the ``.npy`` maps, atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from asdgaze.io import atomic_path

HDF5_FILE = "maps.hdf5"


def write_hdf5(out_dir: Path, stems_and_names: Sequence[tuple[str, str]]) -> Path:
    """Write ``maps.hdf5`` with dataset ``name`` = ``maps/<stem>.npy`` (as float64) for each pair."""
    import h5py

    path = Path(out_dir) / HDF5_FILE
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for stem, name in stems_and_names:
                f.create_dataset(name, data=np.load(Path(out_dir) / "maps" / f"{stem}.npy").astype(np.float64))
    return path
