"""How evaluate starts its worker processes."""

from __future__ import annotations

import sys


def start_method() -> str | None:
    """How worker processes start: "fork" on Linux, "spawn" elsewhere, None (one process) where neither is safe.

    fork never re-runs the caller's script (a spawned worker re-imports it, and an unguarded script that
    calls evaluate then dies in the worker). The workers run numpy only, never torch, so a parent that
    imported torch (even one that ran CPU ops: the workers never enter its thread pools) forks safely;
    only an initialised CUDA context is not fork-safe, and then the run stays in one process.
    """
    if not sys.platform.startswith("linux"):
        return "spawn"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and getattr(cuda, "is_initialized", lambda: False)():
        return None
    return "fork"
