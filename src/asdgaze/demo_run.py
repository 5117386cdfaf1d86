"""`asdgaze demo`: the whole pipeline on the bundled demo data.

Writes, under the output folder, one sub-folder per model: ``maps/`` (log-densities, .npy) and
``scores/`` (the outputs of :func:`asdgaze.evaluate.evaluate`). The fixed Gaussian centre bias
always runs; it is the baseline every saliency model must beat. DeepGaze IIE runs when its
weights are available (``--weights`` or the cache); otherwise the demo says so and where to put
them. It never substitutes another model.
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


def _deepgaze_weights(weights: str | Path | None) -> Path | None:
    """The checkpoint to use: ``weights`` if given (must exist), else the cached one if present."""
    from asdgaze.models.deepgaze.weights import default_path, resolve_weights

    if weights is not None:
        return resolve_weights(weights)  # a missing explicit path is an error
    cached = default_path()
    return cached if cached.is_file() else None


def run_demo(out_dir: str | Path, *, workers: int | None = None, weights: str | Path | None = None,
             centerbias: str = "mit1003", overwrite: bool = False,
             echo: Callable[[str], None] = print) -> dict[str, EvaluateResult]:
    """Score the centre-bias baseline, and DeepGaze IIE if its weights are available, on the demo data."""
    out_dir = Path(out_dir)
    dataset = load_demo()
    echo(f"demo data: {len(dataset.stimuli)} images, groups {', '.join(dataset.groups)} ({dataset.root})")
    results: dict[str, EvaluateResult] = {}

    model = GaussianCenterModel()
    folder = out_dir / "centre-bias"
    write_model_maps(model, dataset, folder / "maps")
    options = EvaluateOptions(maps_kind="log-density")
    results[model.name] = evaluate(dataset, folder / "maps", folder / "scores", options, workers=workers)

    checkpoint = _deepgaze_weights(weights)
    closing = []
    if checkpoint is None:
        from asdgaze.models.deepgaze.weights import default_path

        closing.append(f"DeepGaze IIE: not run, no weights at {default_path()}. "
                       "`asdgaze weights download` fetches them (or pass --weights PATH).")
    else:
        from asdgaze.data import demo_dataset_path
        from asdgaze.predict import run_predict

        folder = out_dir / "deepgaze-iie"
        echo(f"\nDeepGaze IIE: {checkpoint} (centre bias: {centerbias})")
        pred = run_predict(folder, dataset=demo_dataset_path(), weights=checkpoint, centerbias=centerbias,
                           device="auto", overwrite=overwrite)
        if not pred.ok:
            raise ValueError("DeepGaze IIE failed on: " + ", ".join(f"{n} ({r})" for n, r in pred.failures))
        results["DeepGaze IIE"] = evaluate(dataset, folder / "maps", folder / "scores", options, workers=workers)

    for name, result in results.items():
        echo(f"\n{name} (MIT convention; log-densities scored as exp(log p); "
             f"IG baseline: {options.ig_baseline} centre map)")
        echo(summary_table(result.summary))
        echo(f"outputs: {result.out_dir}/ (per_image.csv, summary.csv, summary.json, manifest.json)")
    closing.append("The demo groups are an arbitrary split of adult OSIE observers: no group difference is expected.")
    echo("\n" + "\n".join(closing))
    return results
