"""``asdgaze predict`` as a library function: a streaming DeepGaze IIE pipeline.

Images are decoded ahead of the model (the model is built while the first ones decode), grouped
on the fly into batches of equal size, run through the model, and the outputs are written while
the next batch runs: by worker processes on a GPU host (forked before CUDA starts; threads would
share the GIL with the thread that launches the model's kernels), by one decoder and one writer
thread on CPU. Every output file appears by an atomic rename, so the order of completion does not
matter and a killed run leaves only finished files (plus ``.part`` temp files, removed by the next
run).

Before the first output is written the run's settings are recorded in ``run-settings.json``
(:mod:`asdgaze.stagefolder`); a rerun with other settings is refused unless ``overwrite``,
and a rerun with the same settings does only the missing images.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from asdgaze import interrupts
from asdgaze.errors import AsdgazeError, DataError, MapError, OptionsError, OutputError
from asdgaze.folderlock import FolderClaim, claims_folder
from asdgaze.io import package_versions, write_json_atomic
from asdgaze.predict.outputs import (
    DEFAULT_PNG_LEVEL,
    NPY_DTYPES,
    PER_IMAGE,
    PNG_NORMALISATION,
    RENDERING,
    finished,
    output_paths,
    parse_outputs,
    remove_partial_files,
    write_outputs,
)
from asdgaze.models.deepgaze.cache import cached_sha256
from asdgaze.stagefolder import StageFolder
from asdgaze.predict.stages import (
    BatchFeeder,
    Busy,
    WorkerDied,
    Writers,
    equal_size_batches,
    start_decoding,
    start_process_pool,
    worker_processes,
)
from asdgaze.runfolder import parse_shard, select_shard  # noqa: F401 (re-exported; evaluate shards the same way)

# --precision names: "fast" is the named fast mode (see README, "Precision"); the others are the model's.
FAST_PRECISION = "fp16"
PRECISION_CHOICES = ("fp32", "tf32", "fp16", "bf16", "fast")


@dataclass
class PredictResult:
    """What a predict run did: stems written and skipped, failures as (file, reason), the manifest."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    manifest_path: Path | None = None
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


#: A ``.part`` temp file older than this is a killed run's (a shard removes only those: see run_predict).
STALE_PART_SECONDS = 3600.0


class PredictInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``result`` says what was finished (every finished file is complete)."""

    def __init__(self, result: PredictResult) -> None:
        super().__init__("interrupted")
        self.result = result


def collect_images(images: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
                   dataset: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(stem, path) of every input image: a folder, a list of files, or a dataset's stimuli."""
    from asdgaze.data.images import list_images

    if (images is None) == (dataset is None):
        raise OptionsError("give exactly one of --images DIR and --dataset PATH")
    if dataset is not None:
        from asdgaze.data import find_saliency4asd_parts

        # Every image file of the Images folder, listed as --images lists a folder: one that cannot be
        # read then fails by name (the dataset loader would leave it out of the stimuli, unnoticed here).
        try:
            folder = find_saliency4asd_parts(dataset).images
        except DataError as e:
            raise DataError(f"{e}. For a plain folder of images, use --images") from None
        items = [(p.stem, p) for p in list_images(folder)]
        if not items:
            raise DataError(f"{folder}: no image files (by suffix) in the dataset's Images folder")
    elif isinstance(images, (str, os.PathLike)):
        items = [(p.stem, p) for p in list_images(images)]
        if not items:
            raise DataError(f"{images}: no image files (by suffix) in this --images folder")
    else:
        items = [(Path(p).stem, Path(p)) for p in images]
    seen: dict[str, Path] = {}
    for stem, path in items:
        if stem in seen:
            raise DataError(f"{path}: has the same output name {stem!r} as {seen[stem]}")
        seen[stem] = path
    return items


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` if available else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise OptionsError("--device cuda: torch.cuda.is_available() is False (no GPU, or a CPU-only torch "
                           "build); use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise OptionsError(f"--device: expected auto, cpu or cuda[:N], got {device!r}")
    return device


def check_out_dir(out_dir: Path) -> None:
    """The output folder must be a folder we can create and write in (checked before any work)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionsError(f"{out_dir}: --out exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}.part"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OptionsError(f"{out_dir}: cannot write in the --out folder ({e.strerror or e})") from None


def _versions() -> dict:
    import torch

    out = package_versions("torch", "torchvision", "efficientnet-pytorch", "numpy", "scipy", "pillow")
    out["torch_threads"] = torch.get_num_threads()
    return out


#: What each recorded setting is called on the command line, for messages.
SETTING_NAMES = {"weights_sha256": "--weights (sha256)", "centerbias": "--centerbias", "precision": "--precision",
                 "outputs": "--outputs", "npy_dtype": "--npy-dtype",
                 "rendering": "the PNG and overlay pictures (this version's)"}


@claims_folder
def run_predict(out: str | os.PathLike, images=None, dataset=None, weights: str | os.PathLike | None = None,
                centerbias: str | os.PathLike = "mit1003", device: str = "auto", batch_size: int = 8,
                precision: str = "fp32", overwrite: bool = False, progress: bool = True, model=None,
                outputs: str | Sequence[str] | None = None, npy_dtype: str = "float32",
                png_level: int = DEFAULT_PNG_LEVEL, shard: str | tuple[int, int] | None = None,
                decode_workers: int | None = None, write_workers: int | None = None,
                processes: int | None = None, *, claim: FolderClaim) -> PredictResult:
    """Predict DeepGaze IIE log densities for images and write the chosen outputs and a manifest.

    Args:
        out: output folder (created).
        images: a folder of images, or a list of image files. Exclusive with ``dataset``.
        dataset: a dataset folder for :func:`asdgaze.data.load_dataset` (its stimuli are used).
        weights: checkpoint file; default: the cached ``deepgaze2e.pth`` (error if missing).
        centerbias: ``"mit1003"``, ``"uniform"`` or a ``.npy`` log-density template.
        device: ``auto``, ``cpu`` or ``cuda``. batch_size: images per forward pass (equal sizes only).
        precision: ``fp32`` (exact; TF32 off), ``tf32``, ``fp16``, ``bf16``, or ``fast`` (= fp16).
        overwrite: recompute every output and accept a folder made with other settings.
        model: an already loaded :class:`~asdgaze.models.deepgaze.DeepGazeIIE` (skips loading ``weights``).
        outputs: any of ``npy,png,overlay,hdf5`` (default ``npy,png,overlay``).
        npy_dtype: ``float32`` or ``float16`` for the ``.npy`` maps. png_level: zlib level 0-9.
        shard: ``"K/N"``: only shard K of N of the images (see :func:`select_shard`).
        decode_workers / write_workers: thread counts where threads decode and write (default 1 each;
            not used with worker processes).
        processes: worker processes that decode the images and write the outputs instead of threads
            (``--workers``; default: on a GPU host with 4 or more usable CPUs, one per CPU but one, at
            most 16, forked before CUDA starts; 0 = threads). The outputs are the same either way.
        claim: given by ``@claims_folder``: the folder is held for the run, so a predict with other
            settings into it at the same time is refused (OptionsError).

    Returns:
        :class:`PredictResult`; ``result.ok`` is False when any image failed.

    Raises:
        AsdgazeError subclasses for unusable inputs or options (before any work), OutputError when
        an output cannot be written, PredictInterrupted on Ctrl-C (finished outputs are kept).
    """
    import torch

    from asdgaze.models.centerbias import resolve_centerbias

    t_start = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # -- options and every needed file, before any work
    if precision not in PRECISION_CHOICES:
        raise OptionsError(f"--precision: expected one of {', '.join(PRECISION_CHOICES)}, got {precision!r}")
    model_precision = FAST_PRECISION if precision == "fast" else precision
    if batch_size < 1:
        raise OptionsError(f"--batch-size: expected a whole number >= 1, got {batch_size}")
    chosen = parse_outputs(outputs)
    if "hdf5" in chosen and "npy" not in chosen:
        raise OptionsError("--outputs: hdf5 is assembled from the .npy maps; add npy (e.g. --outputs npy,hdf5)")
    if npy_dtype not in NPY_DTYPES:
        raise OptionsError(f"--npy-dtype: expected one of {', '.join(NPY_DTYPES)}, got {npy_dtype!r}")
    if not 0 <= int(png_level) <= 9:
        raise OptionsError(f"--png-level: expected 0..9, got {png_level}")
    shard_kn = parse_shard(shard)
    out_dir = Path(out)
    from asdgaze.runfolder import refuse_shard_overwrite

    refuse_shard_overwrite(shard_kn, overwrite, out_dir)  # --overwrite would delete the other shards' maps
    all_items = collect_images(images, dataset)
    items = select_shard(all_items, shard_kn)
    dev = resolve_device(device)
    wpath = None
    if model is None:
        from asdgaze.models.deepgaze.weights import resolve_weights

        wpath = resolve_weights(weights)
    try:
        cb = resolve_centerbias(centerbias)
    except (FileNotFoundError, ValueError) as e:  # a missing file, or a template that is not a log density
        if isinstance(e, AsdgazeError) and not isinstance(e, MapError):
            raise  # e.g. OptionsError, or a WeightsError for a damaged mit1003 reference file
        raise OptionsError(f"--centerbias: {e}") from None
    check_out_dir(out_dir)

    if wpath is not None:
        wdesc = {"path": str(wpath), "sha256": cached_sha256(wpath)}
    else:
        wdesc = {"path": None, "sha256": None, "note": "model object passed in"}
    settings = {"weights_sha256": wdesc["sha256"], "centerbias": cb.describe(), "precision": model_precision,
                "outputs": list(chosen), "npy_dtype": npy_dtype}
    if {"png", "overlay"} & set(chosen):  # pictures of an earlier rendering are not taken for finished ones
        settings["rendering"] = RENDERING
    folder = StageFolder(out_dir, "predict")
    folder.check_kind()  # not a run folder, nor an evaluate one
    # Runs with other settings are refused while this one holds the folder; shards share it.
    with claim.hold(out_dir, settings, "predict run", overwrite):
        folder.mark()
        # Temp files of a killed run go; only old ones when another run (a shard) may be writing here now.
        remove_partial_files(out_dir, older_than_s=None if claim.alone else STALE_PART_SECONDS)
        has_outputs = any((out_dir / sub).is_dir() and any((out_dir / sub).iterdir()) for sub in ("maps", "overlays"))
        if overwrite and folder.previous_settings() != settings:
            # Remove the old outputs before the new settings are recorded: a run killed after this point
            # must not find files made with the old settings and take them for finished ones.
            for stem, _ in all_items:
                for path in output_paths(out_dir, stem, PER_IMAGE).values():
                    path.unlink(missing_ok=True)
            (out_dir / "maps.hdf5").unlink(missing_ok=True)
        folder.check_outputs(settings, overwrite, has_outputs, SETTING_NAMES)
    per_image_kinds = [o for o in chosen if o in PER_IMAGE]

    result = PredictResult(out_dir=out_dir, total=len(items))
    # seconds since the start of run_predict at which each phase ended (manifest "timeline_seconds")
    timeline: dict[str, float] = {"inputs_checked": time.perf_counter() - t_start}
    pending: list[tuple[str, Path]] = []
    for stem, path in items:
        if not overwrite and finished(out_dir, stem, per_image_kinds):
            result.skipped.append(stem)
        else:
            pending.append((stem, path))

    gpu = dev.startswith("cuda")
    # On CPU the model computes each image alone (model.forward_parts), so batching gains nothing
    # there: images go one at a time, which keeps memory to the model's own peak plus a few images,
    # and one decoder and one writer thread leave the cores to the model.
    step = batch_size if gpu else 1
    # On a GPU host the host side is the limit, and threads would share one GIL with the thread that
    # launches the model's kernels: measured on an H200 host, 16 busy decoder threads cut the model
    # alone from 88 to 25 images/s. So there decoding and writing run in worker processes.
    n_proc, workers_note = worker_processes(processes, gpu)
    n_decode = n_proc or decode_workers or 1
    n_write = n_proc or write_workers or 1
    # bounded memory: decoded images waiting, batches assembled ahead, images being written
    window = step + n_decode
    timings: dict[str, dict] = {}
    load_seconds = 0.0
    busy = Busy()

    def record_manifest(status: str) -> None:
        _write_manifest(result, out_dir, settings, wdesc, cb, dev, model_precision, precision, batch_size, chosen,
                        npy_dtype, png_level, shard_kn, started, load_seconds, t_start, timings, status, items,
                        timeline, busy.rounded(), workers_note)

    # forked now, before this process starts CUDA (then the CUDA context is created in a thread
    # while the model code is imported and the checkpoint read)
    procs = start_process_pool(n_proc) if n_proc and pending else None
    if gpu:
        threading.Thread(target=_init_cuda, args=(dev,), name="asdgaze-cuda-init", daemon=True).start()
    decoder = procs or ThreadPoolExecutor(max_workers=n_decode, thread_name_prefix="asdgaze-decode")
    writers = Writers(n_write, max_in_flight=step + n_write, busy=busy, processes=procs)
    feeder = None
    bar = None

    def close_pools() -> None:  # safe to call twice
        _stop_reading(feeder, decoder)
        writers.close()
        if procs is not None:
            procs.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()

    # Ctrl-C anywhere below, the pools' shutdown included, ends as PredictInterrupted with what was finished.
    try:
        try:
            if pending:
                decoded = start_decoding(decoder, pending, window, busy=busy)  # decoding starts now, while the model loads
                feeder = BatchFeeder(equal_size_batches(decoded, step, max_buffered=window), dev,
                                     depth=2 if gpu else 1, busy=busy)
                if model is None:
                    t0 = time.perf_counter()
                    model = _load_model(wpath, dev)
                    load_seconds = time.perf_counter() - t0
                else:
                    model = model.to(dev)
                timeline["model_loaded"] = time.perf_counter() - t_start
                from tqdm import tqdm

                bar = tqdm(total=len(pending), unit="img", desc="DeepGaze IIE", disable=not progress)
                priors: dict[tuple[int, int], torch.Tensor] = {}
                t_wait = time.perf_counter()
                for batch, failed, x in feeder:
                    busy.add("main: wait for a batch", time.perf_counter() - t_wait)
                    interrupts.check()
                    writers.check()  # a failed write (disk full): no more model work
                    for stem, path, err in failed:
                        result.failures.append((str(path), str(err)))
                    bar.update(len(failed))
                    if batch:
                        _run_batch(model, batch, x, priors, cb, dev, model_precision, writers, timings, result,
                                   out_dir, chosen, npy_dtype, int(png_level))
                        bar.update(len(batch))
                        timeline.setdefault("first_batch", time.perf_counter() - t_start)
                    writers.collect()
                    t_wait = time.perf_counter()
                timeline["last_batch"] = time.perf_counter() - t_start
                writers.collect(wait=True)
                timeline["writes_done"] = time.perf_counter() - t_start
        except OutputError as e:  # disk full, read-only: stop now; finished images stay and a rerun resumes
            writers.drain()
            result.written = _in_order(writers.done, items)
            raise e.resumable(len(result.written) + len(result.skipped), result.total, out_dir) from None
        except BrokenProcessPool as e:
            writers.drain()
            raise WorkerDied(f"a worker process (decoding or writing) died: {e}. Finished images are kept and a "
                             "rerun resumes. If predict was called from a script, put the call under `if __name__ "
                             "== \"__main__\":`; if memory ran out, use fewer --workers (0: threads)") from None
        except BaseException:  # Ctrl-C too: the images being written are finished before the pools close
            writers.drain()
            raise
        finally:
            close_pools()
        result.written = _in_order(writers.done, items)
        try:
            if "hdf5" in chosen and shard_kn is None:
                from asdgaze.predict.hdf5 import write_hdf5

                write_hdf5(out_dir, [(s, p.name) for s, p in items if finished(out_dir, s, ["npy"])])
            timeline["pools_closed"] = time.perf_counter() - t_start
            record_manifest("complete")
        except OutputError as e:
            raise e.resumable(len(result.written) + len(result.skipped), result.total, out_dir) from None
        interrupts.check()  # a Ctrl-C that a finaliser swallowed while the pools closed
    except KeyboardInterrupt:  # further presses are ignored meanwhile (asdgaze.interrupts)
        writers.drain()
        close_pools()
        result.written = _in_order(writers.done, items)
        record_manifest("interrupted")
        raise PredictInterrupted(result) from None
    return result


def _stop_reading(feeder: BatchFeeder | None, decoder: ThreadPoolExecutor) -> None:
    """Stop the batch thread and the decoders (queued decodes are cancelled, running ones finish)."""
    if feeder is not None:
        feeder.stop.set()
    decoder.shutdown(wait=False, cancel_futures=True)
    if feeder is not None:
        feeder.close()
    decoder.shutdown(wait=True)


def _init_cuda(dev: str) -> None:
    """Create the CUDA context and load cuDNN and cuBLAS (a tiny convolution and matmul), in a
    thread while the main thread imports the model code and reads the checkpoint."""
    import torch
    import torch.nn.functional as F

    try:
        x = torch.zeros(1, 3, 8, 8, device=dev)
        F.conv2d(x, torch.zeros(4, 3, 3, 3, device=dev))
        torch.zeros(8, 8, device=dev) @ torch.zeros(8, 8, device=dev)
        torch.cuda.synchronize(dev)
    except Exception:  # noqa: BLE001 - the main thread meets (and reports) the same error
        pass


def _load_model(wpath: Path, dev: str):
    from asdgaze.models.deepgaze.model import DeepGazeIIE

    return DeepGazeIIE.from_checkpoint(wpath, device=dev, mmap=dev.startswith("cuda"))


def _in_order(stems: list[str], items: Sequence[tuple[str, Path]]) -> list[str]:
    rank = {s: i for i, (s, _) in enumerate(items)}
    return sorted(set(stems), key=lambda s: rank.get(s, len(rank)))  # set: a drain cut short by Ctrl-C is redone


def _run_batch(model, batch, x, priors, cb, dev: str, precision: str, writers: Writers, timings: dict,
               result: PredictResult, out_dir: Path, chosen, npy_dtype: str, png_level: int) -> None:
    """One forward pass; its outputs go to the writer pool. Unusable inputs (AsdgazeError) fail the batch's images."""
    import torch

    h, w = batch[0][2].shape[:2]
    t0 = time.perf_counter()
    if dev.startswith("cuda"):
        x = x.to(dev, non_blocking=True)
    if (h, w) not in priors:
        priors[(h, w)] = torch.as_tensor(cb.log_density(h, w), dtype=torch.float32, device=dev)
    prior = priors[(h, w)].expand(len(batch), h, w)
    try:
        out = model.forward_parts(x, prior, precision=precision)["output"][:, 0].float()
        if out.device.type == "cuda":
            # into page-locked memory: about 40x faster than a copy to ordinary memory (H200: 2 vs
            # 80 ms for 32 maps of 768x1024), and the GPU waits on this copy
            host = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
            maps = host.copy_(out).numpy()
        else:
            maps = out.numpy()
    except AsdgazeError as e:
        for _, path, _ in batch:
            result.failures.append((str(path), str(e)))
        return
    writers.busy.add("main: model (copy in, forward, copy out)", time.perf_counter() - t0)
    seconds = (time.perf_counter() - t0) / len(batch)
    for (stem, path, image), ld in zip(batch, maps):
        timings[stem] = {"source": str(path), "height": h, "width": w, "seconds": round(seconds, 4),
                         "batch": len(batch)}
        writers.submit(stem, write_outputs, out_dir, stem, image if "overlay" in chosen else None, ld, chosen,
                       npy_dtype, png_level)


def _write_manifest(result: PredictResult, out_dir: Path, settings: dict, wdesc: dict, cb, dev: str,
                    model_precision: str, precision: str, batch_size: int, chosen, npy_dtype: str, png_level,
                    shard, started: str, load_seconds: float, t_start: float, timings: dict, status: str,
                    items, timeline: dict | None = None, busy: dict | None = None, workers: str = "") -> None:
    import json

    import torch

    name = "manifest.json" if shard is None else f"manifest-shard-{shard[0]}-of-{shard[1]}.json"
    path = out_dir / name
    previous: dict = {}
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = {}
    if previous.get("settings") != settings:
        previous = {}
    per_image: dict[str, dict] = dict(previous.get("images", {}))
    for stem in result.written:
        per_image[stem] = dict(timings.get(stem, {}), status="written")
    for stem in result.skipped:
        per_image.setdefault(stem, {})["status"] = "skipped (exists)"
    failed = {Path(f).stem for f, _ in result.failures}
    for stem in failed:
        per_image.pop(stem, None)
    cuda_name = torch.cuda.get_device_name(dev) if dev.startswith("cuda") else None
    manifest = {
        "tool": "asdgaze predict",
        "model": "DeepGaze IIE (Linardos et al. 2021), published checkpoint layout",
        "status": status,
        "settings": settings,
        "shard": None if shard is None else {"k": shard[0], "n": shard[1], "images": [s for s, _ in items]},
        "weights": wdesc,
        "centerbias": settings["centerbias"],
        "device": dev,
        "device_name": cuda_name or platform.processor() or platform.machine(),
        "precision": model_precision if precision != "fast" else f"fast ({model_precision})",
        "tf32": ("on" if model_precision == "tf32" else "off") if dev.startswith("cuda") else "not applicable (CPU)",
        "autocast": f"{model_precision} on the backbones only" if model_precision in ("fp16", "bf16") else None,
        "batch_size": batch_size,
        "workers": workers,
        "outputs": list(chosen),
        "npy_dtype": npy_dtype,
        "png_level": int(png_level),
        "png_normalisation": PNG_NORMALISATION,
        "versions": _versions(),
        "started": started,
        "model_load_seconds": round(load_seconds, 3),
        "timeline_seconds": {k: round(v, 3) for k, v in (timeline or {}).items()},
        # seconds per step summed over threads: "main: wait for a batch" large = decoding is the limit,
        # "main: wait for a writer slot" large = writing is
        "busy_seconds": busy or {},
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "finished": len(result.written) + len(result.skipped),
        "images": dict(sorted(per_image.items())),
        "failures": [{"image": n, "error": e} for n, e in result.failures],
    }
    write_json_atomic(path, manifest)
    result.manifest_path = path
