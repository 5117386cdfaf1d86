"""``asdgaze predict``: DeepGaze IIE maps for a folder of images or a dataset (streaming, resumable).

The pipeline is in :mod:`asdgaze.predict.pipeline` (its streaming stages in
:mod:`asdgaze.predict.stages`; in a child process, for callers that must stay free of CUDA, in
:mod:`asdgaze.predict.isolated`), the files it writes in :mod:`asdgaze.predict.outputs` (the pictures of a
density in :mod:`asdgaze.predict.render`), the
settings record that makes resuming safe in :mod:`asdgaze.stagefolder` (shared with evaluate and run).
"""

from asdgaze.predict.outputs import (
    PNG_NORMALISATION,
    OutputError,
    density_png,
    mass_levels,
    output_paths,
    overlay_image,
    write_outputs,
)
from asdgaze.predict.pipeline import (
    PredictInterrupted,
    WorkerDied,
    PredictResult,
    collect_images,
    resolve_device,
    run_predict,
    select_shard,
)

__all__ = ["PNG_NORMALISATION", "OutputError", "PredictInterrupted", "PredictResult", "WorkerDied", "collect_images",
           "density_png", "mass_levels", "output_paths", "overlay_image", "resolve_device", "run_predict", "select_shard",
           "write_outputs"]
