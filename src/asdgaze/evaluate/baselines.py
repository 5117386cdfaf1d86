"""``asdgaze baselines``: write baseline log-densities to disk, one ``.npy`` per image and group.

Layout: ``<out>/<baseline>/<group>/<stem>.npy`` (float32 natural-log density, logsumexp 0 within
float32 rounding), readable by ``asdgaze evaluate --maps NAME=<out>/<baseline>/<group>
--maps-kind log-density`` and by other tools; ``<out>/manifest.json`` records the fitted values.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from asdgaze.data.types import Dataset
from asdgaze.errors import OptionsError
from asdgaze.evaluate.outputs import finite_json
from asdgaze.io import make_dir, write_json_atomic
from asdgaze.maps.io import save_npy
from asdgaze.models import registry
from asdgaze.runfolder import versions
from asdgaze.stagefolder import StageFolder


def write_baselines(dataset: Dataset, names: tuple[str, ...], out_dir: str | os.PathLike,
                    groups: tuple[str, ...] | None = None, overwrite: bool = False) -> dict[str, Path]:
    """Fit ``names`` on ``dataset`` and write their maps; returns {baseline: folder}."""
    out = Path(out_dir).expanduser().resolve()
    groups = tuple(groups or dataset.groups)
    if not names:
        raise OptionsError("--baselines: no baseline to write")
    folder = StageFolder(out, "baselines")
    folder.check_kind()
    for name in names:
        if (out / name).exists() and any((out / name).rglob("*.npy")) and not overwrite:
            raise OptionsError(f"{out / name}: holds maps written earlier; use another --out folder or --overwrite")
    fitted = registry.fit(dataset, names, groups)
    folder.mark()
    written: dict[str, Path] = {}
    for name, pred in fitted.items():
        for g in groups:
            folder = out / name / g
            make_dir(folder)
            for stem, stim in dataset.stimuli.items():
                log_p = pred.log_density(stim, g)
                save_npy(folder / f"{stem}.npy", np.asarray(log_p, dtype=np.float32))
        written[name] = out / name
    write_json_atomic(out / "manifest.json", finite_json({
        "tool": "asdgaze baselines", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(),
        "dataset": {"name": dataset.name, "root": str(Path(dataset.root).resolve()), "groups": list(groups)},
        "layout": "<baseline>/<group>/<stem>.npy: float32 natural-log density (logsumexp 0)",
        "gold_standard": "maps hold all viewers of the group; evaluate scores the gold standard leave-one-viewer-out",
        "baselines": {name: pred.describe() for name, pred in fitted.items()},
    }))
    return written
