"""`asdgaze demo`: the whole pipeline on the bundled demo data.

Writes, under the output folder, one sub-folder per model: ``maps/`` (log-densities, .npy) and
``scores/`` (the outputs of :func:`asdgaze.evaluate.evaluate`). The fixed Gaussian centre bias
always runs; it is the baseline every saliency model must beat. DeepGaze IIE runs when its
weights are available (``--weights`` or the cache); otherwise the demo says so and where to put
them. It never substitutes another model. Every file it needs is checked before any work starts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from asdgaze.data import load_demo
from asdgaze.errors import WeightsError
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


@dataclass
class DemoPlan:
    """What the demo will run, decided before any work: the checkpoint (None: DeepGaze IIE does not
    run, ``reason`` says why) and the centre-bias spec it runs with."""

    checkpoint: Path | None
    centerbias: str
    reason: str = ""


def plan_demo(weights: str | Path | None, centerbias: str | None) -> DemoPlan:
    """Check every file the demo needs before it starts, so that a missing one fails at once.

    An explicit ``weights`` must exist, be a DeepGaze IIE checkpoint (names and shapes, read
    memory-mapped) and have torch to run; the cached one is used when present. When DeepGaze IIE
    runs, its centre bias (default ``mit1003``) is resolved and checked here too.
    """
    from asdgaze.models.centerbias import resolve_centerbias
    from asdgaze.models.deepgaze.cache import default_path, resolve_weights

    spec = centerbias or "mit1003"
    if weights is None and not default_path().is_file():
        return DemoPlan(None, spec, f"no weights at {default_path()}; `asdgaze weights download` fetches "
                                    "them, or pass --weights PATH")
    checkpoint = resolve_weights(weights)  # an explicit path that does not exist is an error
    try:
        import torch  # noqa: F401
    except ImportError:
        if weights is not None:
            raise WeightsError(f"--weights {weights}: running DeepGaze IIE needs PyTorch, which is not "
                               "installed here (pip install torch torchvision efficientnet-pytorch)") from None
        return DemoPlan(None, spec, f"PyTorch is not installed (weights found at {checkpoint})")
    resolve_centerbias(spec)  # a missing or wrong template fails here, before any work
    from asdgaze.models.deepgaze.model import DeepGazeIIE

    DeepGazeIIE.check_checkpoint(checkpoint)
    return DemoPlan(checkpoint, spec)


def run_demo(out_dir: str | Path, *, workers: int | None = None, weights: str | Path | None = None,
             centerbias: str | None = None, overwrite: bool = False,
             echo: Callable[[str], None] = print) -> dict[str, EvaluateResult]:
    """Score the centre-bias baseline, and DeepGaze IIE if its weights are available, on the demo data.

    ``centerbias`` is DeepGaze IIE's prior (uniform, gaussian, mit1003 or a .npy file; default mit1003).
    """
    plan = plan_demo(weights, centerbias)
    out_dir = Path(out_dir)
    dataset = load_demo()
    echo(f"demo data: {len(dataset.stimuli)} images, groups {', '.join(dataset.groups)} ({dataset.root})")
    if plan.checkpoint is None and centerbias is not None:
        warnings.warn(f"--centerbias {centerbias} is not used, as DeepGaze IIE does not run: {plan.reason}",
                      stacklevel=2)
    results: dict[str, EvaluateResult] = {}

    model = GaussianCenterModel()
    folder = out_dir / "centre-bias"
    write_model_maps(model, dataset, folder / "maps")
    options = EvaluateOptions(maps_kind="log-density")
    results[model.name] = evaluate(dataset, folder / "maps", folder / "scores", options, workers=workers)

    closing = []
    if plan.checkpoint is None:
        closing.append(f"DeepGaze IIE: not run, {plan.reason}.")
    else:
        from asdgaze.data import demo_dataset_path
        from asdgaze.predict import run_predict

        folder = out_dir / "deepgaze-iie"
        echo(f"\nDeepGaze IIE: {plan.checkpoint} (centre bias: {plan.centerbias})")
        pred = run_predict(folder, dataset=demo_dataset_path(), weights=plan.checkpoint,
                           centerbias=plan.centerbias, device="auto", overwrite=overwrite)
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
