"""``asdgaze run``: predict -> baselines -> evaluate -> compare -> report, resumable, in one folder.

From Python::

    from asdgaze.run import run
    result = run("Saliency4ASD/TrainingDataset", "out", models=["deepgaze2e", "mine=my_maps"])
    result.report_html, result.summary

Each stage is marked done in ``run.json`` only after its outputs are complete (see
:mod:`asdgaze.runfolder` for the layout); a rerun skips finished stages whose settings match, and
within predict and evaluate finished images are kept, so a rerun after a kill does only what is
missing. DeepGaze IIE is never replaced by another model: when its weights are missing the run
stops before any work and says how to get them.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from asdgaze import runfolder as rf
from asdgaze.analysis.compare import CompareOptions, CompareResult
from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError, OptionsError
from asdgaze.evaluate import EvaluateOptions, EvaluateResult

DEEPGAZE = "deepgaze2e"
#: Baselines this run can score today; gold-standard needs the leave-one-viewer-out scoring of the
#: multi-model evaluate (issue 7) and is refused until then.
RUN_BASELINES = ("uniform", "centerbias", "centerbias-mit1003", "other-group")
GROUP_BASELINES = ("centerbias", "other-group")  # fitted to each group's fixations: one map folder per group
# uniform is left out by default: under the MIT convention a constant map leaves most metrics undefined.
DEFAULT_BASELINES = ("centerbias", "other-group")


class RunError(OptionsError):
    """A run that cannot start or go on (bad --models, unknown baseline, failed images in predict)."""


@dataclass(frozen=True)
class ModelSpec:
    """A scored model: DeepGaze IIE (``maps`` None: computed by predict) or a folder of maps."""

    name: str
    maps: Path | None = None


@dataclass
class RunResult:
    """What a run produced; ``stages`` maps each stage to "ran" or "skipped (done earlier)"."""

    out_dir: Path
    report_html: Path
    results_dir: Path
    compare_dir: Path
    summary: pd.DataFrame | None
    stages: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def parse_models(spec: str | Sequence[str] | None) -> tuple[ModelSpec, ...]:
    """``deepgaze2e,NAME=DIR,...`` (or a list of such items) -> model specs; DIR must be a folder.

    >>> [m.name for m in parse_models("deepgaze2e")]
    ['deepgaze2e']
    """
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else (spec or ())) if s.strip()]
    out: list[ModelSpec] = []
    for item in items:
        if item == DEEPGAZE:
            out.append(ModelSpec(DEEPGAZE))
            continue
        name, sep, folder = item.partition("=")
        name, folder = name.strip(), folder.strip()
        if not sep or not name or not folder:
            raise RunError(f"--models: {item!r} is neither {DEEPGAZE} nor NAME=DIR (a folder of maps)")
        if "/" in name or "\\" in name or name.startswith("."):
            raise RunError(f"--models: {name!r} cannot be a model name (it names an output folder)")
        if not Path(folder).is_dir():
            raise RunError(f"--models {item}: {folder}: no such folder of maps")
        out.append(ModelSpec(name, Path(folder)))
    names = [m.name for m in out]
    dup = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(RUN_BASELINES + ("gold-standard",))))
    if dup:
        raise RunError(f"--models: the name(s) {', '.join(dup)} are used twice (models and baselines need distinct "
                       "names)")
    return tuple(out)


def check_baselines(names: Sequence[str]) -> tuple[str, ...]:
    """Refuse unknown baselines (and gold-standard, until evaluate scores it leaving each viewer out)."""
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    for n in names:
        if n == "gold-standard":
            raise RunError("--baselines gold-standard: needs leave-one-viewer-out scoring, which `asdgaze run` "
                           "does not do yet; choose from " + ", ".join(RUN_BASELINES))
        if n not in RUN_BASELINES:
            raise RunError(f"--baselines: unknown baseline {n!r} (choose from {', '.join(RUN_BASELINES)})")
    return names


def check_deepgaze(weights: str | Path | None, centerbias: str) -> Path:
    """Every file DeepGaze IIE needs, checked before any work; returns the checkpoint.

    Raises WeightsError saying what is missing and how to get it (``asdgaze weights download`` /
    ``asdgaze weights import FILE``).
    """
    from asdgaze.models.centerbias import resolve_centerbias
    from asdgaze.models.deepgaze.cache import resolve_weights
    from asdgaze.models.deepgaze.weights import require_torch

    checkpoint = resolve_weights(weights)
    require_torch(f"running DeepGaze IIE ({checkpoint})")
    resolve_centerbias(centerbias)  # a missing or wrong template fails here
    from asdgaze.models.deepgaze.model import DeepGazeIIE

    DeepGazeIIE.check_checkpoint(checkpoint)
    return checkpoint


def _file_id(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _folder_id(folder: Path) -> list:
    """(name, size, mtime) of every file below ``folder``: an edited or replaced file redoes the stages it feeds."""
    return [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()]


def _dataset_id(ds: Dataset, source: dict) -> dict:
    files = {str(f): _file_id(Path(f)) for f in (source.get("table"),) if f}
    root = Path(source.get("path") or ds.root)
    return {"source": {k: source.get(k) for k in ("path", "table", "coords")}, "name": ds.name,
            "groups": list(ds.groups), "images": sorted(ds.stimuli), "table": files,
            "files": _folder_id(root) if root.is_dir() else []}


def _write_baseline_maps(dataset: Dataset, names: Sequence[str], root: Path, progress: bool) -> dict[str, Any]:
    """Each baseline's log-density per image (float32 .npy), per group for the fitted ones.

    Returns name -> maps folder (image-only) or name -> {group: maps folder}. Finished files are kept.
    """
    from tqdm import tqdm

    from asdgaze.maps.io import save_npy
    from asdgaze.models.fitted import make_baseline

    folders: dict[str, Any] = {}
    todo: list[tuple[Any, str, str | None, Path]] = []
    for name in names:
        groups = list(dataset.groups) if name in GROUP_BASELINES else [None]
        folders[name] = ({g: rf.baseline_dir(root, name, g) / "maps" for g in groups} if name in GROUP_BASELINES
                         else rf.baseline_dir(root, name) / "maps")
        pending = [(g, stem) for g in groups for stem in dataset.stimuli
                   if not (rf.baseline_dir(root, name, g) / "maps" / f"{stem}.npy").is_file()]
        if pending:
            model = make_baseline(name, dataset)  # fitted here (fast on small data); WeightsError if no template
            todo += [(model, stem, g, rf.baseline_dir(root, name, g) / "maps" / f"{stem}.npy") for g, stem in pending]
    for model, stem, group, path in tqdm(todo, desc="baselines", unit="map", disable=not progress or not todo):
        save_npy(path, model.log_density(dataset.stimuli[stem], group).astype("float32"))
    return folders


def _evaluate_stage(dataset: Dataset, model_maps: dict[str, tuple[Path, str | None]], baseline_maps: dict[str, Any],
                    results: Path, options: EvaluateOptions, *, workers: int | None, progress: bool,
                    source: dict, overwrite: bool) -> dict[str, EvaluateResult]:
    """Score every model and baseline into ``results/<name>/`` (per group for fitted baselines).

    Today's evaluate takes one folder of group-independent maps, so it is called once per folder.
    The multi-model evaluate of issue 7 replaces this body with one call:
    ``evaluate(dataset, {name: folder}, results, replace(options, baselines=...))``.
    """
    from asdgaze.evaluate import evaluate

    out: dict[str, EvaluateResult] = {}
    jobs: list[tuple[str, Path, Path, EvaluateOptions]] = []
    for name, (folder, kind) in model_maps.items():
        jobs.append((name, folder, results / name, replace(options, maps_kind=kind)))
    for name, folder in baseline_maps.items():
        if isinstance(folder, dict):
            for group, f in folder.items():
                jobs.append((f"{name}/{group}", f, results / name / group,
                             replace(options, maps_kind="log-density", groups=(group,))))
        else:
            jobs.append((name, folder, results / name, replace(options, maps_kind="log-density")))
    for key, folder, dest, opts in jobs:
        out[key] = evaluate(dataset, folder, dest, opts, workers=workers, progress=progress, source=source,
                            overwrite=overwrite)
    return out


def load_run_dataset(dataset: str | Path, table: str | None = None, coords: str | None = None
                     ) -> tuple[Dataset, dict]:
    """Load the dataset; its warnings are re-issued once each and recorded in the source description."""
    from asdgaze.data import load_dataset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(dataset, table=table, coords=coords)
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    source = {"path": str(dataset), "table": table,
              "coords": coords if table else "1-based (Saliency4ASD scanpaths)", "loader_warnings": messages}
    return ds, source


def run(dataset: str | Path | Dataset, out: str | Path, *, models: str | Sequence[str] | None = (DEEPGAZE,),
        baselines: Sequence[str] = DEFAULT_BASELINES, table: str | None = None, coords: str | None = None,
        evaluate_options: EvaluateOptions = EvaluateOptions(), compare_options: CompareOptions = CompareOptions(),
        weights: str | Path | None = None, centerbias: str = "mit1003", device: str = "auto",
        batch_size: int = 8, precision: str = "fp32", workers: int | None = None, overwrite: bool = False,
        progress: bool = True, echo: Callable[[str], None] = print, source: dict | None = None) -> RunResult:
    """Run predict (when DeepGaze IIE is among ``models``), evaluate, compare and report into ``out``.

    Args:
        dataset: a dataset folder (as ``asdgaze evaluate --dataset``) or a loaded :class:`Dataset`
            (then ``source`` describes it, e.g. ``{"path": ...}``).
        models: ``deepgaze2e`` and/or ``NAME=DIR`` folders of maps (``evaluate_options.maps_kind``
            says what their .npy hold); may be empty when only baselines are scored.
        baselines: names from :data:`RUN_BASELINES`.
        evaluate_options / compare_options: as ``asdgaze evaluate`` / ``asdgaze compare``.
        weights, centerbias, device, batch_size, precision: DeepGaze IIE's, as ``asdgaze predict``.
        overwrite: replace outputs made with other settings (otherwise predict/evaluate refuse them).

    Raises:
        AsdgazeError (WeightsError, RunError, ...) before any work for a missing file or a bad option.
    """
    t_all = time.perf_counter()
    root = Path(out)
    specs = parse_models(models)
    baselines = check_baselines(baselines)
    if not specs and not baselines:
        raise RunError("nothing to score: give --models and/or --baselines")
    checkpoint = check_deepgaze(weights, centerbias) if any(m.maps is None for m in specs) else None
    if isinstance(dataset, Dataset):
        ds, source = dataset, dict(source or {"path": str(dataset.root)})
    else:
        ds, source = load_run_dataset(dataset, table, coords)
    missing = [g for g in (compare_options.group_a, compare_options.group_b) if g not in ds.groups]
    if missing:
        raise RunError(f"--groups: {', '.join(missing)} not in the dataset (its groups: {', '.join(ds.groups)})")

    manifest = rf.RunManifest(root)
    result = RunResult(root, rf.report_dir(root) / "report.html", rf.results_dir(root), rf.compare_dir(root), None)
    stages = [s for s in rf.STAGES if s != "predict" or checkpoint is not None]
    if not baselines:
        stages.remove("baselines")
    prev = rf.fingerprint(_dataset_id(ds, source))

    def stage(name: str, settings: dict, work: Callable[[], dict | None]) -> None:
        nonlocal prev
        settings = {"after": prev, **settings}
        fp = rf.fingerprint(settings)
        label = f"[{stages.index(name) + 1}/{len(stages)}] {name}"
        if manifest.is_done(name, fp):
            echo(f"{label}: done earlier with the same settings, skipped")
            result.stages[name] = "skipped (done earlier)"
        else:
            echo(f"{label} ...")
            manifest.forget(name)
            t0 = time.perf_counter()
            extra = work() or {}
            manifest.mark_done(name, fp, settings, time.perf_counter() - t0, **extra)
            result.stages[name] = "ran"
        prev = fp

    model_maps: dict[str, tuple[Path, str | None]] = {}
    for m in specs:
        if m.maps is None:
            model_maps[m.name] = (rf.predict_dir(root, m.name) / "maps", "log-density")
        else:
            model_maps[m.name] = (m.maps, evaluate_options.maps_kind)

    if checkpoint is not None:
        def do_predict() -> dict:
            from asdgaze.predict import run_predict

            pred = run_predict(rf.predict_dir(root, DEEPGAZE), images=[ds.stimuli[s].path for s in ds.stimuli],
                               weights=checkpoint, centerbias=centerbias, device=device, batch_size=batch_size,
                               precision=precision, overwrite=overwrite, progress=progress)
            if not pred.ok:  # not marked done: a rerun retries them
                raise RunError("DeepGaze IIE failed on: " + "; ".join(f"{n}: {r}" for n, r in pred.failures))
            return {"written": len(pred.written), "kept": len(pred.skipped)}

        stage("predict", {"weights": _file_id(checkpoint), "centerbias": centerbias, "precision": precision},
              do_predict)

    baseline_maps: dict[str, Any] = {}
    if baselines:
        def do_baselines() -> None:
            baseline_maps.update(_write_baseline_maps(ds, baselines, root, progress))

        stage("baselines", {"baselines": list(baselines)}, do_baselines)
        if not baseline_maps:  # skipped: the folders are where the layout puts them
            baseline_maps.update({n: ({g: rf.baseline_dir(root, n, g) / "maps" for g in ds.groups}
                                      if n in GROUP_BASELINES else rf.baseline_dir(root, n) / "maps")
                                  for n in baselines})

    def do_evaluate() -> dict:
        done = _evaluate_stage(ds, model_maps, baseline_maps, result.results_dir, evaluate_options, workers=workers,
                               progress=progress, source=source, overwrite=overwrite)
        failures = [f"{key}: {f.image} ({f.group}): {f.error}" for key, r in done.items() for f in r.failures]
        return {"failures": failures}

    maps_ids = {n: [str(f), _folder_id(f)] for n, (f, _) in model_maps.items() if n != DEEPGAZE}
    stage("evaluate", {"models": maps_ids, "deepgaze": checkpoint is not None,
                       "options": asdict(evaluate_options)}, do_evaluate)
    result.failures = list(manifest.data["stages"]["evaluate"].get("failures", []))

    cmp: list[CompareResult] = []

    def do_compare() -> None:
        from asdgaze.analysis.compare import compare

        cmp.append(compare(result.results_dir, result.compare_dir, compare_options))

    stage("compare", {"options": asdict(compare_options)}, do_compare)

    def do_report() -> dict:
        from asdgaze.report.html import build_report

        from asdgaze.analysis.compare import compare

        # compare skipped (done earlier): recompute it in memory, so report/ holds the same files either way
        done = cmp[0] if cmp else compare(result.results_dir, None, compare_options)
        rep = build_report(result.results_dir, rf.report_dir(root), compare_options, compare_result=done)
        return {"notes": rep.notes}

    stage("report", {}, do_report)
    from asdgaze.analysis.results import load_results

    result.summary = load_results(result.results_dir).summary
    result.notes = list(manifest.data["stages"]["report"].get("notes", []))
    echo(f"run finished in {time.perf_counter() - t_all:.1f} s; report: {result.report_html}")
    return result


__all__ = ["run", "RunResult", "RunError", "ModelSpec", "parse_models", "check_baselines", "check_deepgaze",
           "RUN_BASELINES", "DEFAULT_BASELINES", "DEEPGAZE", "AsdgazeError"]
