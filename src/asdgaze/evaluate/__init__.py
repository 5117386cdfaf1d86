"""``asdgaze evaluate``: score models and baselines against each group's fixations, in both conventions.

:func:`evaluate` takes a dataset and maps (folders or HDF5 files, :mod:`asdgaze.models.maps`), scores every
(image, group) pair with every model and baseline (:mod:`asdgaze.models.registry`) in the MIT and the
probabilistic convention (:mod:`asdgaze.metrics.registry`), and writes ``per_image.csv``,
``per_fixation.csv``, ``summary.csv``, ``summary.json`` and ``manifest.json``. The steps, one module each:

- :mod:`.options`: every setting, checked in one place (:meth:`EvaluateOptions.validate`);
- :mod:`.plan`: the models, the priors and sAUC's shuffled densities, made once on every image;
- :mod:`.score`: one image, a pure function of the plan and the image's id; :mod:`.pool`: in processes;
- :mod:`.resume`: parts, settings and shards (an interrupted run resumes, shards merge);
- :mod:`.outputs`: the tables, the summary and the manifest.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from asdgaze.data.types import Dataset
from asdgaze.errors import AsdgazeError, OptionsError, OutputError
from asdgaze.evaluate.options import EvaluateError, EvaluateInterrupted, EvaluateOptions, EvaluateWarning, Failure
from asdgaze.evaluate.outputs import (PER_FIXATION_COLUMNS, PER_IMAGE_COLUMNS, per_fixation_frame, summarise,
                                      summarise_notes, write_outputs, write_shard_manifest)
from asdgaze.evaluate.plan import default_workers, derived_models, make_plan, mit_prior, open_map_models
from asdgaze.evaluate.pool import score_all
from asdgaze.evaluate.regions import REGION_FILES, write_regions
from asdgaze.procs import start_method
from asdgaze.evaluate.resume import (fixation_digest, found_shards, read_part, reusable_plan, settings_record,
                                     shard_files)
from asdgaze.io import write_json_atomic
from asdgaze.models.maps import parse_model_specs
from asdgaze.runfolder import fingerprint, parse_shard, refuse_shard_overwrite, select_shard
from asdgaze.stagefolder import StageFolder

__all__ = ["evaluate", "EvaluateOptions", "EvaluateResult", "EvaluateError", "EvaluateWarning",
           "EvaluateInterrupted", "Failure", "OUTPUT_FILES"]

OUTPUT_FILES = ("per_image.csv", "summary.csv", "summary.json", "manifest.json", "per_fixation.csv") + REGION_FILES
#: With --adapt: what of the groups' gap the group-adapted models explain (asdgaze.analysis.adaptation).
ADAPTATION_FILE = "adaptation.json"


@dataclass
class EvaluateResult:
    per_image: pd.DataFrame
    summary: pd.DataFrame
    out_dir: Path
    files: dict[str, Path]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # (image, group, "<file>: <problem>"): not scored
    resumed: list[str] = field(default_factory=list)  # images taken from an earlier, interrupted run
    per_fixation: pd.DataFrame | None = None  # PER_FIXATION_COLUMNS, probabilistic per-fixation metrics
    mit1003: dict[str, Any] | None = None  # the --mit1003 match: n_images, n_matched, matches
    shard: tuple[int, int] | None = None  # (K, N) of a shard: only its images, no tables written
    shard_images: list[str] = field(default_factory=list)
    shards: list[dict[str, Any]] = field(default_factory=list)  # a merge: the shards found (manifest "shards")

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def shard_line(self) -> str | None:
        """What a shard did and what comes next (None for a whole run)."""
        if self.shard is None:
            return None
        n = self.per_image["image"].nunique()
        return f"shard {self.shard[0]}/{self.shard[1]}: {n} images scored; run without --shard to merge"


def evaluate(dataset: Dataset, maps: str | Path | Mapping[str, str | Path] | None, out_dir: str | Path,
             options: EvaluateOptions = EvaluateOptions(), *, workers: int | None = None, progress: bool = True,
             source: dict[str, Any] | None = None, overwrite: bool = False,
             shard: str | tuple[int, int] | None = None) -> EvaluateResult:
    """Score maps and baselines against every group's fixations and write the outputs.

    Args:
        dataset: stimuli and fixations (see :mod:`asdgaze.data`).
        maps: a folder with ``<stem>.npy`` or ``<stem>.png`` per image (``.npy`` wins if both exist),
            scored as the model "maps"; or an ``.hdf5``/``.h5`` file of log-densities, one dataset per
            image named by its file name (:mod:`asdgaze.maps.hdf5`); or {model name: folder or file};
            or None (baselines only).
        out_dir: where per_image.csv, per_fixation.csv, summary.csv, summary.json and manifest.json go.
        options: every scoring choice (recorded in the manifest): conventions, baselines, ...
        workers: processes scoring images in parallel (default: the number of CPU cores, at most 8).
        progress: show a progress bar over images.
        source: how the dataset was loaded (path, table, coords, loader warnings), for the manifest.
        overwrite: discard results of another run with other settings in ``out_dir``.
        shard: ``"K/N"``: score only shard K of N of the images (the rule of ``predict --shard``)
            into ``out_dir/parts`` and write ``manifest-shard-K-of-N.json``, not the tables. The
            baselines are still fitted on every image, so the shards' parts are those of a single run;
            a call without ``shard`` on the same folder and settings (the merge) resumes every part and
            writes the tables. Shards may run at the same time into one folder.

    Returns:
        The tables and written files. An (image, group) pair that cannot be scored (unusable map,
        unreadable fixations in ``dataset.problems``, no fixations) is listed in ``result.failures`` (and
        the manifest) while every other pair is scored. Notes (constant or resized maps, loader notes)
        are issued once each as :class:`EvaluateWarning`.

    Raises:
        EvaluateError: bad options (unknown group, metric, baseline, convention, negative seed),
        missing maps (all missing stems are listed) while ``options.allow_missing`` is False, an output
        folder holding another run (or in use by a run with other settings), or a worker process that died.
        EvaluateInterrupted: Ctrl-C; finished images are kept and a rerun resumes.
    """
    t_start = time.perf_counter()
    out_dir = Path(out_dir).expanduser().resolve()
    try:
        shard_kn = parse_shard(shard)
        refuse_shard_overwrite(shard_kn, overwrite, out_dir)
        sources = parse_model_specs(maps)
    except OptionsError as e:
        raise EvaluateError(str(e)) from None
    options = options.validate(dataset, workers)
    if options.fixmap_sigma is not None and options.fixmap_sigma != dataset.fixmap_sigma:
        dataset = replace(dataset, fixmap_sigma=float(options.fixmap_sigma))
    if not sources and not options.baselines:
        raise EvaluateError("nothing to score: give --maps and/or --baselines")
    # Everything a run needs is checked before the first image is scored.
    prior = mit_prior(options, dataset)
    models, missing, run_notes, options = open_map_models(dataset, sources, options)
    settings = settings_record(dataset, options, prior.info, {n: str(f) for n, f in sources.items()} or None)
    folder = StageFolder(out_dir, "evaluate")
    parts: list[Path] = []
    outputs = OUTPUT_FILES + (ADAPTATION_FILE,) + tuple(p.name for p in shard_files(out_dir))
    try:
        # Runs with other settings are refused while this one holds the folder; shards share it.
        claim = folder.claim(settings, overwrite, lambda _: parts.append(folder.prepare(settings, overwrite, outputs)))
        with claim:
            return _run(dataset, options, models, missing, run_notes, prior, settings, parts[0], out_dir,
                        shard_kn, workers, progress, source, t_start)
    except OptionsError as e:
        if isinstance(e, (EvaluateError, OutputError)):
            raise
        raise EvaluateError(str(e)) from None


def _run(dataset: Dataset, options: EvaluateOptions, models: list, missing: list[str], run_notes: list[str],
         prior: Any, settings: dict[str, Any], parts_dir: Path, out_dir: Path, shard_kn: tuple[int, int] | None,
         workers: int | None, progress: bool, source: dict[str, Any] | None, t_start: float) -> EvaluateResult:
    groups = tuple(options.groups)
    mit1003 = _match_mit1003(dataset, options.mit1003) if options.mit1003 and shard_kn is None else None
    all_maps = set().union(*(set(m.predictor.maps) for m in models)) if models else set()
    scored = [s for s in dataset.stimuli if s in all_maps or options.baselines]
    # Pairs whose fixations could not be read fail even without an image (size unreadable).
    extra = sorted({s for g in groups for s in dataset.problems.get(g, {})} - set(dataset.stimuli) - all_maps,
                   key=_natural)
    stems = scored + extra
    # A shard scores its own images; everything fitted below still uses every image.
    mine = stems if shard_kn is None else [s for s, _ in select_shard([(s, None) for s in stems], shard_kn)]
    mine_set = set(mine)
    # hashed for this run's (or shard's) images only: a shard must not read every other shard's maps; a map
    # whose header fails its image is not hashed (it fails when scored)
    map_sha = {m.name: {stem: key for stem in m.predictor.maps if stem in mine_set
                        if (key := m.predictor.digest(dataset.stimuli[stem]))} for m in models}
    # A model is scored probabilistically only when every map is a log-density: a part made while a map was
    # still a PNG (another shard's predict unfinished) lacks those rows. A part also carries the fingerprint
    # of the settings it was made with: one made with others (or by a version that recorded none) is
    # scored again, never reused.
    # Models fitted to the maps and fixations of every image (converted maps, group-adapted models): a part
    # scored with other fitted parameters (an edited map elsewhere) is scored again.
    t_fit: dict[str, float] = {}
    given = models
    models = derived_models(dataset, options, models, workers, run_notes, t_fit)
    derived = [m.describe() for m in models if not any(m is g for g in given)]  # a map model as given: its hashes
    fitted = {"fitted_models": fingerprint(derived)} if derived else {}
    prob_maps = sorted(m.name for m in models if m.traits.density and hasattr(m.predictor, "maps"))
    settings_fp = fingerprint(settings)
    keys = {stem: {"settings": settings_fp, "map_sha256": {n: d.get(stem, "") for n, d in map_sha.items()},
                   "fixations_sha256": fixation_digest(dataset, groups, [stem]),
                   "probabilistic_models": prob_maps, **fitted} for stem in mine}
    if dataset.regions is not None:  # a part's region rows follow its image's boxes
        for stem in mine:
            keys[stem]["regions_sha256"] = dataset.regions.digest(stem)
    results: dict[str, dict[str, Any]] = {}
    for stem in mine:
        part = read_part(parts_dir / f"{stem}.json", keys[stem])
        if part is not None:
            results[stem] = part
    resumed = [s for s in mine if s in results]
    todo = [s for s in mine if s not in results]

    # The plan, on every image. With nothing left to score, an earlier run's or shard's description will do.
    fixations_sha = fixation_digest(dataset, groups)
    reused = None if todo else reusable_plan(out_dir, settings, fixations_sha, prob_maps)
    plan, prob_info, t_plan = make_plan(dataset, options, models, prior, scored, workers, reused, run_notes)
    t_plan.update(t_fit)

    n_workers = max(1, min(default_workers(workers), len(todo)))
    if n_workers > 1 and start_method() is None:
        warnings.warn("torch has started CUDA in this process, so evaluate cannot fork worker processes (and spawned "
                      "ones would re-run an unguarded script): scoring in one process; run evaluate in a process "
                      "without CUDA for parallel scoring", EvaluateWarning, stacklevel=3)
        n_workers = 1
    bar = _progress(len(mine), progress, initial=len(resumed))

    def finish(res: dict[str, Any]) -> None:
        res["key"] = keys[res["image"]]
        write_json_atomic(parts_dir / f"{res['image']}.json", res, compact=True)  # read back by resume only
        results[res["image"]] = res
        bar.update(1)

    try:
        score_all(plan, todo, n_workers, finish)
    except KeyboardInterrupt:
        raise EvaluateInterrupted(len(results), len(mine), parts_dir) from None
    except OutputError as e:  # a part could not be written (disk full, read-only): the finished ones stay
        raise e.resumable(len(results), len(mine), parts_dir) from None
    finally:
        bar.close()

    failures = [Failure(*f) for stem in mine for f in results[stem]["failures"]]
    rows = [r for stem in mine for r in results[stem]["rows"]]
    detail = [n for stem in mine for n in results[stem]["notes"] if n[0] != "timing"]
    split: dict[str, float] = {}  # seconds per model/convention, summed over images (all workers)
    for stem in mine:
        for n in results[stem]["notes"]:
            if n[0] == "timing":
                split[n[1]] = split.get(n[1], 0.0) + float(n[2])
    notes = list(dataset.notes) + run_notes + summarise_notes(detail)
    if mit1003 is not None:
        notes.append(mit1003["note"])
    for n in notes:
        warnings.warn(n, EvaluateWarning, stacklevel=4)
    per_image = pd.DataFrame(rows, columns=list(PER_IMAGE_COLUMNS))
    per_fixation = per_fixation_frame(mine, results)
    summary = summarise(per_image, [m.name for m in plan.models if m.traits.ceiling])
    run = {
        "models": plan.models, "map_sha256": map_sha, "missing": missing, "failures": failures,
        "notes": notes, "note_detail": [t for _, t in detail], "baseline": prior.info,
        "prob_baseline": prob_info, "mit1003": mit1003,
        "source": source or {}, "workers": n_workers, "settings": settings, "resumed": resumed,
        "seconds": {stem: results[stem]["seconds"] for stem in mine}, "total_s": time.perf_counter() - t_start,
        "plan_s": t_plan, "split_s": split, "fixations_sha256": fixations_sha,
        "plan_from": None if reused is None else reused[2],
    }
    try:
        if shard_kn is not None:  # the tables are the merge's: a shard only records what it did
            path = write_shard_manifest(out_dir, shard_kn, mine, dataset, run)
            return EvaluateResult(per_image, summary, out_dir, {path.name: path}, missing, notes, failures, resumed,
                                  per_fixation, mit1003, shard=shard_kn, shard_images=mine)
        run["shards"] = found_shards(out_dir, settings)
        run["headline"] = _headline(per_image, plan, options)
        files = write_outputs(out_dir, dataset, options, per_image, per_fixation, summary, run)
        files.update(write_regions(out_dir, dataset, mine, results))  # only with regions (evaluate/regions.py)
        files.update(_write_adaptation(out_dir, per_image, plan, options))
    except OutputError as e:  # every part is saved: a rerun only writes the tables
        raise e.resumable(len(results), len(mine), parts_dir) from None
    return EvaluateResult(per_image, summary, out_dir, files, missing, notes, failures, resumed, per_fixation,
                          mit1003, shards=run["shards"])


def _headline(per_image: pd.DataFrame, plan: Any, options: EvaluateOptions) -> dict[str, Any] | None:
    """The headline of the default comparison (TD - ASD where both exist), for summary.json; ``asdgaze run``
    and the report make it again with their comparison's options."""
    from asdgaze.analysis.headline import ScoredTable, default_groups, headline

    groups = default_groups([g for g in options.groups if g in set(per_image["group"])])
    if groups is None:
        return None  # fewer than two groups scored: nothing to compare
    table = ScoredTable(per_image, {m.name: m.traits for m in plan.models})
    return headline(table, *groups, seed=options.seed).to_dict()


def _write_adaptation(out_dir: Path, per_image: pd.DataFrame, plan: Any, options: EvaluateOptions) -> dict[str, Path]:
    """``adaptation.json`` where adapted models were scored for two groups (the default comparison, TD - ASD
    where both exist)."""
    from asdgaze.analysis.adaptation import adaptation_record
    from asdgaze.analysis.headline import default_groups
    from asdgaze.evaluate.outputs import finite_json

    groups = default_groups([g for g in options.groups if g in set(per_image["group"])])
    if groups is None:
        return {}
    record = adaptation_record(per_image, [m.describe() for m in plan.models], *groups, seed=options.seed)
    if record is None:
        return {}
    path = out_dir / ADAPTATION_FILE
    write_json_atomic(path, finite_json(record))
    return {ADAPTATION_FILE: path}


def _match_mit1003(dataset: Dataset, folder: str) -> dict[str, Any]:
    """How many of the dataset's images are MIT1003 images (perceptual hash), for the note and manifest."""
    from asdgaze.data.mit1003 import match_mit1003

    try:
        matches = match_mit1003(dataset, folder)
    except (AsdgazeError, OSError, ValueError) as e:
        raise EvaluateError(f"--mit1003 {folder}: {e}") from e
    hits = {stem: {"file": str(m.mit1003_file), "hash_distance": m.distance} for stem, m in matches.items()}
    n = len(dataset.stimuli)
    return {"folder": str(Path(folder).expanduser().resolve()), "n_images": n, "n_matched": len(hits),
            "matches": hits,
            "note": f"MIT1003 check: {len(hits)} of {n} images match an image of {folder} (perceptual hash); "
                    "DeepGaze IIE was trained on MIT1003, so its scores on those images are optimistic"}


def _natural(stem: str) -> tuple:
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def _progress(total: int, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="img", desc="evaluate", disable=not enabled, file=sys.stderr)
