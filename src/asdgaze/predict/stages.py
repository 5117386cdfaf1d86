"""The streaming stages of ``asdgaze predict``: decoding ahead, equal-size batches, writing behind.

Decoding and writing run in threads (CPU) or in worker processes (a GPU host, where threads would
share the GIL with the thread that launches the model's kernels); :class:`Busy` adds up the seconds
of each step for the manifest's ``busy_seconds``. Used by :func:`asdgaze.predict.pipeline.run_predict`.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from asdgaze.errors import AsdgazeError, OptionsError


class WorkerDied(AsdgazeError, RuntimeError):
    """A decoder / writer process died (killed, out of memory, or a spawned one re-ran an unguarded script)."""


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


def decode_timed(path: Path) -> tuple[np.ndarray, float]:
    """:func:`_decode` and its seconds; a top-level function, so a process pool can run it."""
    t0 = time.perf_counter()
    return _decode(path), time.perf_counter() - t0


def start_decoding(pool: Executor, pending: Sequence[tuple[str, Path]], window: int,
                   busy: Busy | None = None) -> Iterator[tuple[str, Path, np.ndarray | None, AsdgazeError | None]]:
    """Start decoding ``pending`` in ``pool`` (threads or processes) now, at most ``window`` images
    in flight; iterate for the results in input order, each (stem, path, image or None,
    AsdgazeError or None)."""
    queue: deque[tuple[str, Path, Future]] = deque()
    it = iter(pending)
    busy = busy if busy is not None else Busy()

    def fill() -> None:
        while len(queue) < window:
            nxt = next(it, None)
            if nxt is None:
                return
            queue.append((nxt[0], nxt[1], pool.submit(decode_timed, nxt[1])))

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


class Busy:
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



class BatchFeeder:
    """Assembles the next batches (equal sizes, stacked, pinned for a GPU) in a thread while the model runs."""

    def __init__(self, batches: Iterator, dev: str, depth: int, busy: Busy | None = None) -> None:
        self.busy = busy if busy is not None else Busy()
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


class Writers:
    """Writes in a pool (threads, or the given process pool), with a bound on images in flight
    (each holds its image and map until written). The first failed write stops the rest: queued
    writes are cancelled and :meth:`submit` / :meth:`collect` raise its error, so a full disk ends
    the run at once instead of failing image after image."""

    def __init__(self, workers: int, max_in_flight: int, busy: Busy | None = None,
                 processes: Executor | None = None) -> None:
        self.busy = busy if busy is not None else Busy()
        self.own_pool = processes is None
        self.pool = processes or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asdgaze-write")
        self.slots = threading.Semaphore(max_in_flight)
        self.lock = threading.RLock()  # re-entrant: a done callback may run inside submit
        self.futures: list[tuple[str, Future]] = []
        self.done: list[str] = []
        self.error: BaseException | None = None

    def submit(self, stem: str, fn: Callable[..., None], *args) -> None:
        """Run ``fn(*args)`` in the pool; in a process pool ``fn`` and ``args`` must pickle."""
        t0 = time.perf_counter()
        self.slots.acquire()
        self.busy.add("main: wait for a writer slot", time.perf_counter() - t0)
        with self.lock:
            if self.error is not None:
                self.slots.release()
                raise self.error
            fut = self.pool.submit(write_timed, fn, args)
            self.futures.append((stem, fut))
        fut.add_done_callback(self._finished)

    def _finished(self, fut: Future) -> None:
        if not fut.cancelled():
            if fut.exception() is None:
                self.busy.add("write (all workers)", fut.result())
            else:
                self._fail(fut.exception())
        self.slots.release()  # after _fail: a submit waiting for this slot then sees the error

    def _fail(self, err: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = err
                for _, other in self.futures:
                    other.cancel()  # not started yet: dropped (a started one finishes)

    def check(self) -> None:
        """Raise the first write error, if a write has failed."""
        if self.error is not None:
            raise self.error

    def collect(self, wait: bool = False) -> None:
        """Move finished writes to ``done``; the first write error is raised (the run stops)."""
        with self.lock:
            futures = list(self.futures)
        if wait:
            concurrent.futures.wait([f for _, f in futures])
        keep = []
        for stem, fut in futures:
            if not fut.done():
                keep.append((stem, fut))
            elif fut.cancelled():
                continue
            elif fut.exception() is None:
                self.done.append(stem)
            else:  # its done callback may not have run yet
                self._fail(fut.exception())
        with self.lock:  # only this (the main) thread adds futures, so none came meanwhile
            self.futures = keep
        self.check()  # an error, or a bug, from any write

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


def write_timed(fn: Callable[..., None], args: tuple) -> float:
    """``fn(*args)`` and its seconds (a top-level function, so a process pool can run it)."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def start_process_pool(workers: int, method: str | None = None) -> Executor:
    """A pool of ``workers`` processes that decode and write, all started now. Forked where that is
    safe (Linux, no CUDA context in this process yet: see :func:`worker_processes`), else spawned
    (a spawned child imports numpy, PIL and asdgaze's predict and data modules, never torch)."""
    import multiprocessing

    from asdgaze.procs import start_method

    ctx = multiprocessing.get_context(method or start_method() or "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_ctrl_c)
    for _ in range(workers):
        pool.submit(int)  # starts the processes (with fork, all at the first submit)
    return pool


def usable_cpus() -> int:
    """CPUs this process may run on (a Slurm or cgroup CPU set), not all of the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_processes(processes: int | None, gpu: bool) -> tuple[int, str]:
    """How many worker processes decode and write (0: threads), and why, for the manifest.

    Default: on a GPU host with 4 or more usable CPUs, one per CPU but one, at most 16; only where
    they can be forked (a spawned worker would re-run a caller's unguarded script), so not once this
    process has started CUDA (then threads, as on CPU)."""
    from asdgaze.procs import start_method

    if processes is not None:
        if processes < 0:
            raise OptionsError(f"--workers: expected a whole number >= 0, got {processes}")
        return processes, "as asked" if processes else "threads, as asked (--workers 0)"
    cpus = usable_cpus()
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
