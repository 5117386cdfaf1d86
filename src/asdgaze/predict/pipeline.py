"""``asdgaze predict`` as a library function: a streaming DeepGaze IIE pipeline.

Images are decoded ahead of the model (the model is built while the first ones decode), grouped
on the fly into batches of equal size, run through the model, and the outputs are written while
the next batch runs: by worker processes on a GPU host (forked before CUDA starts; threads would
share the GIL with the thread that launches the model's kernels), by one decoder and one writer
thread on CPU. Every output file appears by an atomic rename, so the order of completion does not
matter and a killed run leaves only finished files (plus ``.part`` temp files, removed by the next
run).

Before the first output is written the run's settings are recorded in ``run-settings.json``
(:mod:`asdgaze.predict.settings`); a rerun with other settings is refused unless ``overwrite``,
and a rerun with the same settings does only the missing images.
"""

from __future__ import annotations

import os
import platform
import queue
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from asdgaze.errors import AsdgazeError, DataError, MapError, OptionsError
from asdgaze.io import package_versions, write_json_atomic
from asdgaze.predict.outputs import (
    DEFAULT_PNG_LEVEL,
    NPY_DTYPES,
    PER_IMAGE,
    PNG_NORMALISATION,
    OutputError,
    finished,
    output_paths,
    parse_outputs,
    remove_partial_files,
    write_outputs,
)
from asdgaze.predict.settings import cached_sha256, check_and_record, read_settings
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


class WorkerDied(AsdgazeError, RuntimeError):
    """A decoder / writer process died (killed, out of memory, or a spawned one re-ran an unguarded script)."""


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
        from asdgaze.data import load_dataset

        ds = load_dataset(dataset)
        items = [(str(sid), Path(st.path)) for sid, st in ds.stimuli.items()]
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


def _decode(path: Path) -> np.ndarray:
    """Decoded RGB image; too small for the model is an ImageError naming the file."""
    from asdgaze.data.images import ImageError, load_image
    from asdgaze.models.deepgaze.limits import MIN_SIZE  # not .model: a decoder process must not import torch

    image = load_image(path)
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIZE:
        raise ImageError(f"{path}: image of {h}x{w} px is too small; DeepGaze IIE needs at least "
                         f"{MIN_SIZE} px per side")
    return image


def decode_timed(path: Path, trim: bool = False) -> tuple[np.ndarray, float]:
    """:func:`_decode` and its seconds; a top-level function, so a process pool can run it.
    ``trim``: return freed memory to the system afterwards (see :func:`_return_freed_memory`)."""
    t0 = time.perf_counter()
    try:
        return _decode(path), time.perf_counter() - t0
    finally:
        if trim:
            _return_freed_memory()


def start_decoding(pool: Executor, pending: Sequence[tuple[str, Path]], window: int,
                   trim: bool = False, busy: _Busy | None = None) -> Iterator[tuple[str, Path, np.ndarray | None, AsdgazeError | None]]:
    """Start decoding ``pending`` in ``pool`` (threads or processes) now, at most ``window`` images
    in flight; iterate for the results in input order, each (stem, path, image or None,
    AsdgazeError or None). ``trim``: return freed memory to the system after each image."""
    queue: deque[tuple[str, Path, Future]] = deque()
    it = iter(pending)
    busy = busy if busy is not None else _Busy()

    def fill() -> None:
        while len(queue) < window:
            nxt = next(it, None)
            if nxt is None:
                return
            queue.append((nxt[0], nxt[1], pool.submit(decode_timed, nxt[1], trim)))

    def results() -> Iterator[tuple[str, Path, np.ndarray | None, AsdgazeError | None]]:
        while queue:
            stem, path, fut = queue.popleft()
            try:
                (image, seconds), err = fut.result(), None
                busy.add("decode (all workers)", seconds)
            except AsdgazeError as e:  # anything else is a bug and surfaces
                image, err = None, e
            fill()
            yield stem, path, image, err

    fill()  # before returning: the first images decode while the caller loads the model
    return results()


_END = object()


class _Busy:
    """Seconds spent per pipeline step, summed over threads (manifest ``busy_seconds``): where a run's time goes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, step: str, seconds: float) -> None:
        with self.lock:
            self.seconds[step] = self.seconds.get(step, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        with self.lock:
            return {k: round(v, 3) for k, v in self.seconds.items()}



class _BatchFeeder:
    """Assembles the next batches (equal sizes, stacked, pinned for a GPU) in a thread while the model runs."""

    def __init__(self, batches: Iterator, dev: str, depth: int, busy: _Busy | None = None) -> None:
        self.busy = busy if busy is not None else _Busy()
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(batches, dev), name="asdgaze-batches", daemon=True)
        self.thread.start()

    def _run(self, batches: Iterator, dev: str) -> None:
        import torch

        try:
            t0 = time.perf_counter()
            for batch, failed in batches:
                t1 = time.perf_counter()
                self.busy.add("feeder: wait for decoded images", t1 - t0)
                x = None
                if batch:
                    # stacked straight into pinned memory on a GPU (one copy, and the copy to the
                    # GPU can be asynchronous)
                    x = torch.empty((len(batch),) + batch[0][2].shape, dtype=torch.uint8,
                                    pin_memory=dev.startswith("cuda"))
                    np.stack([b[2] for b in batch], out=x.numpy())
                    x = x.permute(0, 3, 1, 2)
                t2 = time.perf_counter()
                self.busy.add("feeder: stack batch", t2 - t1)
                if not self._put((batch, failed, x)):
                    return
                t0 = time.perf_counter()
                self.busy.add("feeder: wait for the model", t0 - t2)
            self._put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread, which raises it
            self._put(e)

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def equal_size_batches(decoded: Iterator, batch_size: int, max_buffered: int
                       ) -> Iterator[tuple[list[tuple[str, Path, np.ndarray]], list[tuple[str, Path, AsdgazeError]]]]:
    """Group decoded images into batches of equal (H, W) as they arrive.

    A size's batch is released when full; when more than ``max_buffered`` images wait, the
    fullest partial batch is released early, so memory stays bounded whatever the mix of sizes.
    Yields (batch, failures seen since the last batch).
    """
    buckets: dict[tuple[int, int], list] = {}
    failed: list = []
    waiting = 0
    for stem, path, image, err in decoded:
        if err is not None:
            failed.append((stem, path, err))
            continue
        key = image.shape[:2]
        bucket = buckets.setdefault(key, [])
        bucket.append((stem, path, image))
        waiting += 1
        if len(bucket) >= batch_size:
            yield buckets.pop(key), failed
            failed, waiting = [], waiting - len(bucket)
        elif waiting > max_buffered:
            key = max(buckets, key=lambda k: len(buckets[k]))
            batch = buckets.pop(key)
            yield batch, failed
            failed, waiting = [], waiting - len(batch)
    for batch in buckets.values():
        yield batch, failed
        failed = []
    if failed:
        yield [], failed


class _Writers:
    """Writes in a pool (threads, or the given process pool), with a bound on images in flight
    (each holds its image and map until written)."""

    def __init__(self, workers: int, max_in_flight: int, trim: bool = False, busy: _Busy | None = None,
                 processes: Executor | None = None) -> None:
        self.busy = busy if busy is not None else _Busy()
        self.trim = trim
        self.own_pool = processes is None
        self.pool = processes or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asdgaze-write")
        self.slots = threading.Semaphore(max_in_flight)
        self.futures: list[tuple[str, Future]] = []
        self.done: list[str] = []

    def submit(self, stem: str, fn: Callable[..., None], *args) -> None:
        """Run ``fn(*args)`` in the pool; in a process pool ``fn`` and ``args`` must pickle."""
        t0 = time.perf_counter()
        self.slots.acquire()
        self.busy.add("main: wait for a writer slot", time.perf_counter() - t0)
        fut = self.pool.submit(write_timed, fn, args, self.trim)
        fut.add_done_callback(self._finished)
        self.futures.append((stem, fut))

    def _finished(self, fut: Future) -> None:
        self.slots.release()
        if not fut.cancelled() and fut.exception() is None:
            self.busy.add("write (all workers)", fut.result())

    def collect(self, wait: bool = False) -> None:
        """Move finished writes to ``done``; the first write error is raised (the run stops)."""
        keep = []
        for stem, fut in self.futures:
            if wait or fut.done():
                fut.result()  # raises OutputError, or a bug
                self.done.append(stem)
            else:
                keep.append((stem, fut))
        self.futures = keep

    def drain(self) -> None:
        """Wait for every submitted write; record those that finished, ignore errors (run is ending)."""
        for stem, fut in self.futures:
            try:
                fut.result()
                self.done.append(stem)
            except Exception:  # noqa: BLE001 - reported by collect() on the normal path
                pass
        self.futures = []

    def close(self) -> None:
        if self.own_pool:
            self.pool.shutdown(wait=True, cancel_futures=True)


def write_timed(fn: Callable[..., None], args: tuple, trim: bool = False) -> float:
    """``fn(*args)`` and its seconds (a top-level function, so a process pool can run it)."""
    t0 = time.perf_counter()
    try:
        fn(*args)
    finally:
        if trim:
            _return_freed_memory()
    return time.perf_counter() - t0


def run_predict(out: str | os.PathLike, images=None, dataset=None, weights: str | os.PathLike | None = None,
                centerbias: str | os.PathLike = "mit1003", device: str = "auto", batch_size: int = 8,
                precision: str = "fp32", overwrite: bool = False, progress: bool = True, model=None,
                outputs: str | Sequence[str] | None = None, npy_dtype: str = "float32",
                png_level: int = DEFAULT_PNG_LEVEL, shard: str | tuple[int, int] | None = None,
                decode_workers: int | None = None, write_workers: int | None = None,
                processes: int | None = None) -> PredictResult:
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
    # Temp files of a killed run go; with --shard only old ones: other shards may be writing here now.
    remove_partial_files(out_dir, older_than_s=STALE_PART_SECONDS if shard_kn is not None else None)
    per_image_kinds = [o for o in chosen if o in PER_IMAGE]
    has_outputs = any((out_dir / sub).is_dir() and any((out_dir / sub).iterdir()) for sub in ("maps", "overlays"))
    if overwrite and read_settings(out_dir) != settings:
        # Remove the old outputs before the new settings are recorded: a run killed after this point
        # must not find files made with the old settings and take them for finished ones.
        for stem, _ in all_items:
            for path in output_paths(out_dir, stem, PER_IMAGE).values():
                path.unlink(missing_ok=True)
        (out_dir / "maps.hdf5").unlink(missing_ok=True)
    check_and_record(out_dir, settings, overwrite, has_outputs)

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
    n_proc, workers_note = _worker_processes(processes, gpu)
    n_decode = n_proc or decode_workers or 1
    n_write = n_proc or write_workers or 1
    # bounded memory: decoded images waiting, batches assembled ahead, images being written
    window = step + n_decode
    timings: dict[str, dict] = {}
    load_seconds = 0.0
    status = "complete"
    busy = _Busy()
    # forked now, before this process starts CUDA (then the CUDA context is created in a thread
    # while the model code is imported and the checkpoint read)
    procs = _start_process_pool(n_proc) if n_proc and pending else None
    if gpu:
        threading.Thread(target=_init_cuda, args=(dev,), name="asdgaze-cuda-init", daemon=True).start()
    decoder = procs or ThreadPoolExecutor(max_workers=n_decode, thread_name_prefix="asdgaze-decode")
    writers = _Writers(n_write, max_in_flight=step + n_write, trim=not gpu and procs is None, busy=busy,
                       processes=procs)
    feeder = None
    bar = None
    try:
        if pending:
            decoded = start_decoding(decoder, pending, window, trim=not gpu and procs is None, busy=busy)  # decoding starts now, while the model loads
            feeder = _BatchFeeder(equal_size_batches(decoded, step, max_buffered=window), dev, depth=2 if gpu else 1,
                                  busy=busy)
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
    except KeyboardInterrupt:
        status = "interrupted"
        writers.drain()
        _stop_reading(feeder, decoder)
        writers.close()
        if bar is not None:
            bar.close()
        result.written = _in_order(writers.done, items)
        _write_manifest(result, out_dir, settings, wdesc, cb, dev, model_precision, precision, batch_size, chosen,
                        npy_dtype, png_level, shard_kn, started, load_seconds, t_start, timings, status, items,
                        timeline, busy.rounded(), workers_note)
        raise PredictInterrupted(result) from None
    except BrokenProcessPool as e:
        writers.drain()
        raise WorkerDied(f"a worker process (decoding or writing) died: {e}. Finished images are kept and a rerun "
                         "resumes. If predict was called from a script, put the call under `if __name__ == "
                         "\"__main__\":`; if memory ran out, use fewer --workers (0: threads)") from None
    except BaseException:
        writers.drain()
        raise
    finally:
        _stop_reading(feeder, decoder)
        writers.close()
        if procs is not None:
            procs.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    result.written = _in_order(writers.done, items)
    if "hdf5" in chosen and shard_kn is None:
        from asdgaze.predict.hdf5 import write_hdf5

        write_hdf5(out_dir, [(s, p.name) for s, p in items if finished(out_dir, s, ["npy"])])
    timeline["pools_closed"] = time.perf_counter() - t_start
    _write_manifest(result, out_dir, settings, wdesc, cb, dev, model_precision, precision, batch_size, chosen,
                    npy_dtype, png_level, shard_kn, started, load_seconds, t_start, timings, status, items,
                    timeline, busy.rounded(), workers_note)
    return result


def _stop_reading(feeder: _BatchFeeder | None, decoder: ThreadPoolExecutor) -> None:
    """Stop the batch thread and the decoders (queued decodes are cancelled, running ones finish)."""
    if feeder is not None:
        feeder.stop.set()
    decoder.shutdown(wait=False, cancel_futures=True)
    if feeder is not None:
        feeder.close()
    decoder.shutdown(wait=True)


def _return_freed_memory() -> None:
    """glibc: hand the memory freed in this thread's heap back to the system (``malloc_trim``).

    Decoded images and written maps are freed into per-thread heaps that glibc keeps; on CPU,
    where the decoder and writer work beside the model, that memory would add to the model's
    peak. Changes only where memory comes from, never a value; elsewhere (not glibc) nothing happens.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim():
    import ctypes

    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


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
    return sorted(stems, key=lambda s: rank.get(s, len(rank)))


def _start_process_pool(workers: int, method: str | None = None) -> Executor:
    """A pool of ``workers`` processes that decode and write, all started now. Forked where that is
    safe (Linux, no CUDA context in this process yet: see :func:`_worker_processes`), else spawned
    (a spawned child imports numpy, PIL and asdgaze's predict and data modules, never torch)."""
    import multiprocessing

    from asdgaze.evaluation.procs import start_method

    ctx = multiprocessing.get_context(method or start_method() or "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_ctrl_c)
    for _ in range(workers):
        pool.submit(int)  # starts the processes (with fork, all at the first submit)
    return pool


def _usable_cpus() -> int:
    """CPUs this process may run on (a Slurm or cgroup CPU set), not all of the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _worker_processes(processes: int | None, gpu: bool) -> tuple[int, str]:
    """How many worker processes decode and write (0: threads), and why, for the manifest.

    Default: on a GPU host with 4 or more usable CPUs, one per CPU but one, at most 16; only where
    they can be forked (a spawned worker would re-run a caller's unguarded script), so not once this
    process has started CUDA (then threads, as on CPU)."""
    from asdgaze.evaluation.procs import start_method

    if processes is not None:
        if processes < 0:
            raise OptionsError(f"--workers: expected a whole number >= 0, got {processes}")
        return processes, "as asked" if processes else "threads, as asked (--workers 0)"
    cpus = _usable_cpus()
    if not gpu or cpus < 4:
        return 0, "threads (CPU run)" if not gpu else f"threads ({cpus} usable CPUs)"
    if start_method() != "fork":
        return 0, ("threads: CUDA was already started in this process, so worker processes cannot be forked "
                   "(run predict in a fresh process for worker processes)")
    return min(16, cpus - 1), f"{min(16, cpus - 1)} forked worker processes ({cpus} usable CPUs)"


def _ignore_ctrl_c() -> None:
    """In a worker process: Ctrl-C reaches the whole process group; the main process handles it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_batch(model, batch, x, priors, cb, dev: str, precision: str, writers: _Writers, timings: dict,
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
