"""`asdgaze demo`: `asdgaze run` on the bundled demo data (8 OSIE images, real fixations).

DeepGaze IIE runs when its weights are available (``--weights`` or the cache). When they are not
in the cache the demo tries to download them (with a progress bar); when that is impossible
(offline: the server is not reached within a few seconds) it says plainly that the model is
missing and how to get it, and goes on with the baselines. It never substitutes another model.
"""

from __future__ import annotations

import os
import threading
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from asdgaze.data import load_demo
from asdgaze.errors import WeightsError
from asdgaze.run import RunResult, check_deepgaze, run

#: Seconds the demo waits for the download server before it goes on without DeepGaze IIE.
CONNECT_TIMEOUT = 5.0


@dataclass
class DemoPlan:
    """What the demo will run, decided before any work: the checkpoint (None: DeepGaze IIE does not
    run, ``reason`` says why) and the centre-bias spec it runs with."""

    checkpoint: Path | None
    centerbias: str
    reason: str = ""


def probe(url: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """'' when ``url`` answers a HEAD request within ``timeout`` seconds (DNS included), else why not.

    The request runs in a daemon thread, so neither a hanging resolver nor a server that accepts the
    connection and never answers can hold the demo longer than ``timeout``.
    """
    answer: list[str] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                answer.append("")
        except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
            answer.append(str(getattr(e, "reason", None) or e))

    t = threading.Thread(target=ask, daemon=True)
    t.start()
    t.join(timeout)
    return answer[0] if answer else f"no answer within {timeout:g} s"


def _try_download(echo: Callable[[str], None]) -> str:
    """Download the weights and template into the cache; '' on success, else why not."""
    from asdgaze.models.deepgaze import weights as w

    url = w.URLS[w.WEIGHTS_FILE]
    if os.environ.get("ASDGAZE_OFFLINE"):
        return f"its weights are not in the cache ({w.cache_dir()}) and ASDGAZE_OFFLINE is set"
    # The network is probed first: offline (as in CI) the demo goes on within seconds, without importing torch.
    why = probe(url)
    if why:
        return f"its weights are not in the cache ({w.cache_dir()}) and cannot be downloaded now ({url}: {why})"
    try:
        w.require_torch("DeepGaze IIE")
    except WeightsError as e:
        return str(e)
    echo(f"DeepGaze IIE weights are not in the cache: downloading them into {w.cache_dir()}")
    try:
        w.download()
    except WeightsError as e:
        return str(e)
    return ""


def plan_demo(weights: str | Path | None, centerbias: str | None, download: bool = True,
              echo: Callable[[str], None] = print) -> DemoPlan:
    """Check every file the demo needs before it starts, so that a missing one fails at once.

    An explicit ``weights`` must exist and be a DeepGaze IIE checkpoint (with torch to run it);
    otherwise the cached one is used, downloaded first when missing and ``download`` is true.
    """
    from asdgaze.models.deepgaze.cache import default_path

    spec = centerbias or "mit1003"
    if weights is None and not default_path().is_file():
        why = _try_download(echo) if download else f"no weights at {default_path()}"
        if why:
            return DemoPlan(None, spec, why)
    return DemoPlan(check_deepgaze(weights, spec), spec)


def run_demo(out_dir: str | Path, *, workers: int | None = None, weights: str | Path | None = None,
             centerbias: str | None = None, overwrite: bool = False, download: bool = True,
             progress: bool = True, echo: Callable[[str], None] = print) -> RunResult:
    """`asdgaze run` on the demo data: DeepGaze IIE (if available) and the baselines, up to the report."""
    plan = plan_demo(weights, centerbias, download, echo)
    dataset = load_demo()
    echo(f"demo data: {len(dataset.stimuli)} images, groups {', '.join(dataset.groups)} ({dataset.root})")
    echo(dataset.format.about)
    if plan.checkpoint is None:
        echo(f"DeepGaze IIE: MISSING, not run: {plan.reason}. Get it with `asdgaze weights download` (internet), "
             "or download deepgaze2e.pth and centerbias_mit1003.npy elsewhere and run `asdgaze weights import FILE` "
             "for each. Going on with the baselines only.")
        if centerbias is not None:
            warnings.warn(f"--centerbias {centerbias} is not used, as DeepGaze IIE does not run", stacklevel=2)
    models = ("deepgaze2e",) if plan.checkpoint is not None else ()
    notes = [] if plan.checkpoint is not None else [
        f"DeepGaze IIE is MISSING from this demo (not run): {plan.reason}. Only the baselines were scored; "
        "get the model with `asdgaze weights download` and run the demo again."]
    return run(dataset, out_dir, models=models, baselines=None, weights=plan.checkpoint,
               centerbias=plan.centerbias, workers=workers, overwrite=overwrite, progress=progress, echo=echo,
               source={"path": str(dataset.root), "table": None, "coords": "1-based (Saliency4ASD scanpaths)"},
               notes=notes)
