"""``asdgaze run``: predict -> evaluate -> compare -> report, resumable, in one folder.

From Python::

    from asdgaze.run import run
    result = run("Saliency4ASD/TrainingDataset", "out", models=["deepgaze2e", "mine=my_maps"])
    result.report_html, result.summary

Each stage is marked done in ``run.json`` only after its outputs are complete (see
:mod:`asdgaze.runfolder` for the layout); a rerun skips finished stages whose settings match, and
within predict and evaluate finished images are kept, so a rerun after a kill does only what is
missing. One evaluate call scores every model and baseline into ``results/`` (evaluate fits the
baselines itself; ``asdgaze baselines`` writes baseline maps when they are wanted as files).
DeepGaze IIE is never replaced by another model: when its weights are missing the run stops
before any work and says how to get them.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from asdgaze import interrupts
from asdgaze import runfolder as rf
from asdgaze.analysis.compare import CompareOptions, CompareResult
from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError, OptionsError
from asdgaze.evaluate import EvaluateInterrupted, EvaluateOptions
from asdgaze.folderlock import FolderClaim, claims_folder
from asdgaze.models import registry
from asdgaze.models.maps import parse_model_specs
from asdgaze.stagefolder import StageFolder

DEEPGAZE = "deepgaze2e"


class RunError(OptionsError):
    """A run that cannot start or go on (bad --models, unknown baseline, failed images in predict)."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a stage; the message says which stage, how far it got, and that a rerun resumes."""

    def __init__(self, label: str, cause: KeyboardInterrupt, finished: Sequence[str], root: Path) -> None:
        from asdgaze.predict.pipeline import PredictInterrupted

        if isinstance(cause, PredictInterrupted):
            r = cause.result
            how_far = f": {len(r.written) + len(r.skipped)} of {r.total} images finished (saved in {r.out_dir})"
        elif isinstance(cause, EvaluateInterrupted):
            how_far = f": {cause.done} of {cause.total} images finished (saved in {cause.parts_dir})"
        else:
            how_far = f"; {', '.join(finished)} finished (kept in {root})" if finished else ""
        super().__init__(f"interrupted during {label}{how_far}; rerun the same command to resume")


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
    shard: tuple[int, int] | None = None  # (K, N): a shard ran predict/evaluate for its images and stopped
    shard_line: str = ""  # what the shard did and what comes next
    headline: list[str] = field(default_factory=list)  # the answer in sentences (summary.json's headline)

    @property
    def ok(self) -> bool:
        return not self.failures


def parse_models(spec: str | Sequence[str] | None) -> tuple[ModelSpec, ...]:
    """``deepgaze2e,NAME=DIR,...`` (or a list of such items) -> model specs; DIR is a folder of maps
    or an HDF5 file of log-densities (``.hdf5``/``.h5``, pysaliency's layout). Parsed by the one parser of
    ``NAME=DIR`` (:func:`asdgaze.models.maps.parse_model_specs`).

    >>> [m.name for m in parse_models("deepgaze2e")]
    ['deepgaze2e']
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return ()
    try:
        parsed = parse_model_specs(spec, flag="--models", keywords=(DEEPGAZE,))
    except OptionsError as e:
        raise RunError(str(e)) from None
    if list(parsed) == ["maps"]:  # a lone DIR: evaluate's plain --maps DIR; run names every model
        raise RunError(f"--models: {spec!r} is neither {DEEPGAZE} nor NAME=DIR (a folder of maps) nor NAME=FILE.hdf5")
    for name, path in parsed.items():
        if path is not None and not path.exists():  # checked before any work, as a folder is
            raise RunError(f"--models {name}={path}: no such folder of maps (or .hdf5 file of log-densities)")
    return tuple(ModelSpec(name, path) for name, path in parsed.items())


def check_baselines(names: str | Sequence[str] | None, groups: Sequence[str] = ()) -> tuple[str, ...]:
    """Refuse unknown baselines; None (or "default") gives the registry's defaults for ``groups``."""
    try:
        return registry.check_names(names, groups)
    except OptionsError as e:
        raise RunError(str(e)) from None


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
    files = {str(f): _file_id(Path(f)) for f in (source.get("table"), source.get("regions")) if f}
    root = Path(source.get("path") or ds.root)
    return {"source": {k: source.get(k) for k in ("path", "table", "coords")}, "name": ds.name,
            "groups": list(ds.groups), "images": sorted(ds.stimuli), "table": files,
            "files": _folder_id(root) if root.is_dir() else []}


def _maps_kind(specs: Sequence[ModelSpec], kind: str | None) -> str | None:
    """The one --maps-kind of the evaluate call: DeepGaze IIE writes log-densities, so with it every
    .npy folder must hold log-densities too (evaluate reads all folders with one kind)."""
    if not any(m.maps is None for m in specs):
        return kind
    if kind == "log-density":
        return kind
    npy = [str(m.maps) for m in specs if m.maps is not None and any(Path(m.maps).glob("*.npy"))]
    if npy:
        raise RunError(f"--maps-kind {kind or '(not given)'}: {DEEPGAZE}'s maps are log-densities and one run "
                       f"reads every folder with one --maps-kind; {', '.join(npy)} hold(s) .npy maps: give "
                       "--maps-kind log-density if they are log-densities, or score them in a separate run")
    return "log-density"  # PNG folders are saliency maps whatever the kind


def load_run_dataset(dataset: str | Path, table: str | None = None, coords: str | None = None,
                     regions: str | None = None) -> tuple[Dataset, dict]:
    """Load the dataset; its warnings are re-issued once each and recorded in the source description."""
    from asdgaze.data import load_dataset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(dataset, table=table, coords=coords, regions=regions)
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    source = {"path": str(dataset), "table": table,
              "coords": coords if table else "1-based (Saliency4ASD scanpaths)", "loader_warnings": messages,
              **({"regions": str(regions)} if regions else {})}
    return ds, source


@claims_folder
def run(dataset: str | Path | Dataset, out: str | Path, *, models: str | Sequence[str] | None = (DEEPGAZE,),
        baselines: Sequence[str] | None = None, table: str | None = None, coords: str | None = None,
        evaluate_options: EvaluateOptions = EvaluateOptions(), compare_options: CompareOptions = CompareOptions(),
        weights: str | Path | None = None, centerbias: str = "mit1003", device: str = "auto",
        batch_size: int = 8, precision: str = "fp32", workers: int | None = None, overwrite: bool = False,
        progress: bool = True, echo: Callable[[str], None] = print, source: dict | None = None,
        notes: Sequence[str] = (), shard: str | tuple[int, int] | None = None, regions: str | None = None,
        claim: FolderClaim) -> RunResult:
    """Run predict (when DeepGaze IIE is among ``models``), evaluate, compare and report into ``out``.

    Args:
        dataset: a dataset folder (as ``asdgaze evaluate --dataset``) or a loaded :class:`Dataset`
            (then ``source`` describes it, e.g. ``{"path": ...}``).
        models: ``deepgaze2e`` and/or ``NAME=DIR`` folders of maps (or HDF5 files) (``evaluate_options.maps_kind``
            says what their .npy hold); may be empty when only baselines are scored.
        baselines: names of :mod:`asdgaze.models.registry` (a comma-separated string or a list; "default",
            "none"); None: the registry's defaults (other-group only with two groups). They replace
            ``evaluate_options.baselines``.
        regions: a table ``image,x1,y1,x2,y2,label`` of labelled boxes for the region analysis (default: the
            dataset's own, Saliency4ASD's ``AdditionalData/ImageAnnotations.csv``; :mod:`asdgaze.data.regions`).
        evaluate_options / compare_options: as ``asdgaze evaluate`` / ``asdgaze compare``.
        weights, centerbias, device, batch_size, precision: DeepGaze IIE's, as ``asdgaze predict``.
        overwrite: replace outputs made with other settings (otherwise predict/evaluate refuse them).
        notes: said at the top of the report and kept in ``run.json["notes"]`` (e.g. the demo's
            "DeepGaze IIE was not run: ...").
        shard: ``"K/N"``: predict and evaluate only shard K of N of the images (``predict --shard``,
            ``evaluate --shard``) and stop before compare and report, marking no stage done in
            ``run.json``; evaluate waits until the maps of every image are there (a later call scores the
            shard). A run without ``shard`` on the same folder then merges, compares and reports.
        claim: given by ``@claims_folder``: ``out`` is held for the run, so a run with other settings
            into it at the same time (which would mix compare/, report/ and run.json) is refused.

    Raises:
        AsdgazeError (WeightsError, RunError, ...) before any work for a missing file or a bad option.
    """
    t_all = time.perf_counter()
    root = Path(out)
    shard_kn = rf.parse_shard(shard)
    try:
        rf.refuse_shard_overwrite(shard_kn, overwrite, root)
    except OptionsError as e:
        raise RunError(str(e)) from None
    specs = parse_models(models)
    if baselines is not None:
        check_baselines(baselines)  # names checked before any work; the defaults need the dataset's groups
    if not specs and baselines is not None and check_baselines(baselines) == ():
        raise RunError("nothing to score: give --models and/or --baselines")
    maps_kind = _maps_kind(specs, evaluate_options.maps_kind)
    checkpoint = check_deepgaze(weights, centerbias) if any(m.maps is None for m in specs) else None
    if isinstance(dataset, Dataset):
        ds, source = dataset, dict(source or {"path": str(dataset.root)})
        if regions is not None:  # a --regions table for a dataset loaded in Python
            from asdgaze.data.regions import attach_regions, read_regions

            ds = attach_regions(replace(ds, notes=list(ds.notes)), read_regions(regions, ds.stimuli))
            source["regions"] = str(regions)
    else:
        ds, source = load_run_dataset(dataset, table, coords, regions)
    missing = [g for g in (compare_options.group_a, compare_options.group_b) if g not in ds.groups]
    if missing:
        raise RunError(f"--groups: {', '.join(missing)} not in the dataset (its groups: {', '.join(ds.groups)})")
    baselines = check_baselines(baselines, ds.groups)
    options = replace(evaluate_options, baselines=baselines, maps_kind=maps_kind).for_run()  # convert, adapt: on

    try:
        options = options.validate(ds, workers)
        folder = StageFolder(root, "run")
        folder.check_kind()  # not an evaluate or predict folder
    except OptionsError as e:
        raise RunError(str(e)) from None
    run_notes = list(notes)
    prev = rf.fingerprint(_dataset_id(ds, source))
    # Shards of one job share the folder; a run with other settings is refused while one holds it
    # (compare/, report/ and run.json would mix). Taken before run.json is read.
    predict_settings = {"weights": str(checkpoint), "centerbias": centerbias, "precision": precision}
    try:
        with claim.hold(root, {"dataset": prev, "models": {m.name: m.maps and str(m.maps) for m in specs},
                               "predict": predict_settings if checkpoint is not None else None,
                               "evaluate": asdict(options), "compare": asdict(compare_options), "notes": run_notes},
                        "asdgaze run", overwrite):
            pass
    except OptionsError as e:
        raise RunError(str(e)) from None
    folder.mark()
    manifest = rf.RunManifest(root)
    manifest.data["notes"] = run_notes  # written with the next stage marker
    result = RunResult(root, rf.report_dir(root) / "report.html", rf.results_dir(root), rf.compare_dir(root), None)
    stages = [s for s in rf.STAGES if s != "predict" or checkpoint is not None]

    def stage(name: str, settings: dict, work: Callable[[], dict | None]) -> None:
        nonlocal prev
        settings = {"after": prev, **settings}
        fp = rf.fingerprint(settings)
        label = f"[{stages.index(name) + 1}/{len(stages)}] {name}"
        try:
            interrupts.check()  # a Ctrl-C that a finaliser swallowed in the stage before
            if manifest.is_done(name, fp):
                echo(f"{label}: done earlier with the same settings, skipped")
                result.stages[name] = "skipped (done earlier)"
            elif shard_kn is not None:  # a shard's work is never a finished stage: run.json is left alone
                echo(f"{label} (shard {shard_kn[0]}/{shard_kn[1]}) ...")
                work()
                result.stages[name] = f"ran (shard {shard_kn[0]}/{shard_kn[1]})"
            else:
                echo(f"{label} ...")
                manifest.forget(name)
                t0 = time.perf_counter()
                extra = work() or {}
                manifest.mark_done(name, fp, settings, time.perf_counter() - t0, **extra)
                result.stages[name] = "ran"
        except KeyboardInterrupt as e:
            raise RunInterrupted(label, e, list(result.stages), root) from None
        prev = fp

    model_maps = {m.name: (rf.predict_dir(root, m.name) / "maps" if m.maps is None else m.maps) for m in specs}

    if checkpoint is not None:
        def do_predict() -> dict:
            from asdgaze.predict import run_predict
            from asdgaze.predict.isolated import predict_in_child_wanted, run_predict_in_child

            # On a GPU, in a child process: a process with CUDA cannot fork, and evaluate forks its workers next.
            predict = run_predict_in_child if predict_in_child_wanted(device) else run_predict
            pred = predict(rf.predict_dir(root, DEEPGAZE), images=[ds.stimuli[s].path for s in ds.stimuli],
                           weights=checkpoint, centerbias=centerbias, device=device, batch_size=batch_size,
                           precision=precision, overwrite=overwrite, progress=progress, shard=shard_kn)
            if not pred.ok:  # not marked done: a rerun retries them
                raise RunError("DeepGaze IIE failed on: " + "; ".join(f"{n}: {r}" for n, r in pred.failures))
            return {"written": len(pred.written), "kept": len(pred.skipped)}

        stage("predict", {"weights": _file_id(checkpoint), "centerbias": centerbias, "precision": precision},
              do_predict)

    def do_evaluate() -> dict:
        from asdgaze.evaluate import evaluate

        # One call for every model and baseline; finished images are kept in results/parts/ across kills.
        done = evaluate(ds, model_maps or None, result.results_dir, options, workers=workers, progress=progress,
                        source=source, overwrite=overwrite, shard=shard_kn)
        failures = [f"{f.image} ({f.group}): {f.error}" for f in done.failures]
        if shard_kn is not None:
            result.failures, result.shard_line = failures, done.shard_line or ""
        return {"failures": failures,
                "mit1003": None if done.mit1003 is None else
                {k: done.mit1003.get(k) for k in ("n_matched", "n_images", "folder")}}

    maps_ids = {n: [str(f), _folder_id(f) if Path(f).is_dir() else _file_id(Path(f))]
                for n, f in model_maps.items() if n != DEEPGAZE}
    evaluate_settings = {"models": maps_ids, "deepgaze": checkpoint is not None, "options": asdict(options)}
    if shard_kn is not None:
        return _finish_shard(result, shard_kn, ds, model_maps, lambda: stage("evaluate", evaluate_settings,
                                                                               do_evaluate), echo)
    stage("evaluate", evaluate_settings, do_evaluate)
    result.failures = list(manifest.data["stages"]["evaluate"].get("failures", []))

    cmp: list[CompareResult] = []

    def do_compare() -> None:
        from asdgaze.analysis.compare import compare

        cmp.append(compare(result.results_dir, result.compare_dir, compare_options))

    stage("compare", {"options": asdict(compare_options)}, do_compare)

    def do_report() -> dict:
        from asdgaze.analysis.compare import compare
        from asdgaze.report.html import build_report

        # compare skipped (done earlier): recompute it in memory, so report/ holds the same files either way
        done = cmp[0] if cmp else compare(result.results_dir, None, compare_options)
        rep = build_report(result.results_dir, rf.report_dir(root), compare_options, compare_result=done,
                           run_notes=run_notes)
        _set_headline(result.results_dir / "summary.json", done.headline)
        return {"notes": rep.notes}

    stage("report", {"run_notes": run_notes}, do_report)
    from asdgaze.analysis.results import load_results

    result.summary = load_results(result.results_dir).summary
    result.notes = run_notes + list(manifest.data["stages"]["report"].get("notes", []))
    result.headline = list((_read_json(result.results_dir / "summary.json").get("headline") or {})
                           .get("sentences", []))
    echo(f"run finished in {time.perf_counter() - t_all:.1f} s; report: {result.report_html}")
    return result


def _read_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text()) if path.is_file() else {}


def _set_headline(summary_json: Path, head) -> None:
    """summary.json's headline is the report's: the one computed with the run's compare options (evaluate's
    own uses its defaults), so the file, the report and the terminal say the same."""
    from asdgaze.evaluate.outputs import finite_json
    from asdgaze.io import write_json_atomic

    data = _read_json(summary_json)
    if not data or head is None:
        return
    new = head.to_dict()
    if data.get("headline") != new:
        data["headline"] = new
        write_json_atomic(summary_json, finite_json(data))


#: Missing maps named in a waiting shard's message (then "and K more").
MAX_NAMED = 10


def _finish_shard(result: RunResult, shard: tuple[int, int], ds: Dataset, model_maps: dict[str, Path],
                  evaluate_stage: Callable[[], None], echo: Callable[[str], None]) -> RunResult:
    """A shard's evaluate (once every model has the maps of every image), then a stop before compare."""
    from asdgaze.predict.outputs import finished

    k, n = shard
    result.shard = shard
    lacking: list[str] = []
    if DEEPGAZE in model_maps:  # predict's shards write them; a maps folder of the user's is checked by evaluate
        # The .npy (log-density), not the PNG: predict writes the PNG first, and a folder with a PNG
        # in it is scored with the MIT convention only.
        pred_dir = Path(model_maps[DEEPGAZE]).parent
        lacking = [s for s in ds.stimuli if not finished(pred_dir, s, ["npy"])]
    if lacking:
        # evaluate fits and averages over every image's maps (sAUC's shuffled density), so it must wait
        named = ", ".join(lacking[:MAX_NAMED]) + (f" and {len(lacking) - MAX_NAMED} more"
                                                  if len(lacking) > MAX_NAMED else "")
        result.shard_line = (f"shard {k}/{n}: predict done for this shard; evaluate needs the {DEEPGAZE} maps (.npy) "
                             f"of every image and {len(lacking)} of {len(ds.stimuli)} are not there yet ({named}): "
                             f"once every shard's predict has finished, run this command again to score shard "
                             f"{k}/{n}, or run without --shard; an image that predict could not read is listed "
                             f"under failures in its shard's manifest-shard-K-of-{n}.json in {pred_dir}")
    else:
        evaluate_stage()
        if result.stages.get("evaluate") == "skipped (done earlier)":
            result.shard_line = f"shard {k}/{n}: evaluate was done earlier for every image; run without --shard"
    echo(result.shard_line)
    return result


__all__ = ["run", "RunResult", "RunError", "RunInterrupted", "ModelSpec", "parse_models", "check_baselines",
           "check_deepgaze", "DEEPGAZE", "AsdgazeError"]
