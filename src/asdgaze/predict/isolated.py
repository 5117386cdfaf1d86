"""``run_predict`` in a forked child process, so that the calling process never starts CUDA.

Once a process has a CUDA context it cannot safely fork, so ``evaluate`` (which forks its scoring
workers) would then score in one process: ``asdgaze run`` on a GPU host predicts in a child and
evaluates in parallel afterwards. Results, errors and Ctrl-C come back as if ``run_predict`` had
run here; a child that dies without a word is a :class:`~asdgaze.predict.stages.WorkerDied`.
"""

from __future__ import annotations

import traceback
from typing import Any

from asdgaze.predict.pipeline import PredictInterrupted, PredictResult, WorkerDied, resolve_device, run_predict


def predict_in_child_wanted(device: str = "auto") -> bool:
    """True where ``run_predict`` would start CUDA here and a child can be forked (Linux, no CUDA yet)."""
    from asdgaze.procs import start_method

    return start_method() == "fork" and resolve_device(device).startswith("cuda")


def run_predict_in_child(*args: Any, **kwargs: Any) -> PredictResult:
    """:func:`run_predict` (same arguments) in a forked child process; returns its result or raises its error."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, args, kwargs), name="asdgaze-predict")
    child.start()
    send.close()
    message = None
    while message is None:
        try:
            message = receive.recv()
        except KeyboardInterrupt:  # Ctrl-C reached the child too: wait for what it finished
            continue
        except EOFError:
            break
    child.join()
    if message is None:
        raise WorkerDied(f"the DeepGaze IIE process died (exit status {child.exitcode}); finished images are kept "
                         "and a rerun resumes")
    kind, value, child_traceback = message
    if kind == "ok":
        return value
    if kind == "interrupted":
        raise PredictInterrupted(value)
    if child_traceback:
        value.add_note("in the DeepGaze IIE process:\n" + child_traceback)
    raise value


def _child(send, args: tuple, kwargs: dict) -> None:
    try:
        message = ("ok", run_predict(*args, **kwargs), "")
    except PredictInterrupted as e:
        message = ("interrupted", e.result, "")
    except BaseException as e:  # noqa: BLE001 - handed to the parent, which raises it
        message = ("error", e, traceback.format_exc())
    try:
        send.send(message)
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text still goes back
        send.send(("error", RuntimeError(f"{type(message[1]).__name__}: {message[1]}"), message[2]))
    finally:
        send.close()
