"""Scoring images in worker processes: each worker holds the plan and its own cache, and scores one image
per task; a finished image comes back to the parent, which saves it at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from threadpoolctl import threadpool_limits

from asdgaze.evaluate.options import EvaluateError
from asdgaze.procs import start_method
from asdgaze.evaluate.score import Plan, score_image
from asdgaze.evaluate.scored import WorkerCache

__all__ = ["score_all", "WORKER_START_S"]

#: Seconds a started pool may take to bring up its first worker (a spawned one imports numpy, scipy, ...).
WORKER_START_S = 120.0

# Per-process state of a worker (set once by _init_worker): the plan and this process's cache.
_STATE: dict[str, Any] = {}


def _init_worker(plan: Plan, in_pool: bool = True, started: Any = None) -> None:
    _STATE["plan"] = plan
    _STATE["cache"] = WorkerCache()
    if started is not None:  # tells the parent that a worker came up (see _run_pool)
        started.set()
    if in_pool:
        # Ctrl-C is the parent's to handle: it stops the pool and says how to resume.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A forked worker shares the task pipe with its siblings and never sees it close: leave when
        # the parent is gone (killed), instead of lingering.
        parent = os.getppid()
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
        # One BLAS/OpenMP thread per worker process: the pool already uses the cores.
        threadpool_limits(1)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _score_image(stem: str) -> dict[str, Any]:
    return score_image(_STATE["plan"], stem, _STATE["cache"])


def score_all(plan: Plan, todo: list[str], n_workers: int, finish: Callable[[dict[str, Any]], None]) -> None:
    """Score ``todo`` in ``n_workers`` processes (one: in this process) and hand each result to ``finish``."""
    if n_workers == 1:
        with threadpool_limits(1):  # as in a worker, without changing the caller's setting after
            _init_worker(plan, in_pool=False)
            try:
                for stem in todo:
                    finish(_score_image(stem))
            finally:
                _STATE.clear()
        return
    _run_pool(n_workers, plan, todo, finish)


def _run_pool(n_workers: int, plan: Plan, todo: list[str], finish: Callable[[dict[str, Any]], None]) -> None:
    """Score ``todo`` in worker processes; a worker that dies ends the run at once with a clear error."""
    method = start_method()
    ctx = multiprocessing.get_context(method)
    started = ctx.Event()
    pool = cf.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                  initargs=(plan, True, started))
    done = False
    try:
        futures = [pool.submit(_score_image, stem) for stem in todo]
        # A spawned worker re-runs the caller's script first; an unguarded script that calls evaluate
        # then never reaches the worker loop (nor exits): wait for one worker, not forever.
        deadline = time.monotonic() + WORKER_START_S
        while not started.wait(0.5) and not any(f.done() for f in futures):
            if time.monotonic() > deadline:
                raise EvaluateError(
                    f"no worker process started within {WORKER_START_S:g} s ({method} start); if you run evaluate "
                    "from a script, put the call under `if __name__ == \"__main__\":`, or use workers=1 "
                    "(--workers 1)")
        for fut in cf.as_completed(futures):
            finish(fut.result())
        done = True
    except BrokenProcessPool as e:
        hint = ("if you run evaluate from a script, put the call under `if __name__ == \"__main__\":`; "
                if method == "spawn" else "")
        raise EvaluateError(f"a worker process died while scoring ({e}); images finished so far are saved and a "
                            f"rerun resumes; {hint}--workers 1 runs in one process and shows the error") from None
    finally:
        if done:
            pool.shutdown(wait=True)
        else:  # stop at once: queued images are dropped, running ones ended (their parts are not written)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
