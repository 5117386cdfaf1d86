"""`asdgaze demo`: the whole pipeline on the bundled demo data.

Writes, under the output folder, one sub-folder per model: ``maps/`` (log-densities, .npy) and
``scores/`` (the outputs of :func:`asdgaze.evaluate.evaluate`). The fixed Gaussian centre bias
always runs; it is the baseline every saliency model must beat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from asdgaze.data import load_demo
from asdgaze.evaluate import EvaluateOptions, EvaluateResult, evaluate
from asdgaze.maps.io import save_npy
from asdgaze.models.base import SaliencyModel
from asdgaze.models.baselines import GaussianCenterModel
from asdgaze.report.tables import summary_table


def write_model_maps(model: SaliencyModel, dataset, maps_dir: Path) -> None:
    """Write ``model``'s log-density for every stimulus as ``maps_dir/<stem>.npy`` (float32)."""
    maps_dir.mkdir(parents=True, exist_ok=True)
    for stem, stim in dataset.stimuli.items():
        # Baselines need only the image size, so a zero-channel array stands in for the pixels.
        log_p = model.log_density(np.empty((stim.height, stim.width, 0), dtype=np.uint8))
        save_npy(maps_dir / f"{stem}.npy", log_p.astype(np.float32))


def run_demo(out_dir: str | Path, *, workers: int | None = None,
             echo: Callable[[str], None] = print) -> dict[str, EvaluateResult]:
    out_dir = Path(out_dir)
    dataset = load_demo()
    echo(f"demo data: {len(dataset.stimuli)} images, groups {', '.join(dataset.groups)} ({dataset.root})")
    results: dict[str, EvaluateResult] = {}

    model = GaussianCenterModel()
    folder = out_dir / "centre-bias"
    write_model_maps(model, dataset, folder / "maps")
    options = EvaluateOptions(maps_kind="log-density")
    results[model.name] = evaluate(dataset, folder / "maps", folder / "scores", options, workers=workers)

    for name, result in results.items():
        echo(f"\n{name} (MIT convention; log-densities scored as exp(log p); "
             f"IG baseline: {options.ig_baseline} centre map)")
        echo(summary_table(result.summary))
        echo(f"outputs: {result.out_dir}/ (per_image.csv, summary.csv, summary.json, manifest.json)")
    echo("\nThe demo groups are an arbitrary split of adult OSIE observers: no group difference is expected.")
    return results
