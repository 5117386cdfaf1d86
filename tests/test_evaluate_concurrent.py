"""Two evaluate runs into one folder: never a folder that mixes two runs' settings.

Runs with other settings are refused while one holds the folder (a lock that a dead process does
not keep); a part is reused only with the fingerprint of the settings it was made with."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import asdgaze.evaluate as ev
from asdgaze.data.types import Dataset
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.folderlock import LOCK
from asdgaze.maps.io import save_npy

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

SRC = str(Path(ev.__file__).resolve().parents[2])
H, W = 24, 32
# seed-dependent metrics only (shuffled AUC: the other images drawn and the splits), small and fast
OPTIONS = EvaluateOptions(maps_kind="log-density", metrics=("auc_shuffled", "auc_borji"), n_splits=5,
                          conventions=("mit",), shuffled_n_other=2)
ROUNDS = 60


def _dataset(root: Path, n: int = 4) -> Dataset:
    return tiny_dataset(root, n, h=H, w=W, n_fix=9, seed=3, image_major=False, images=None, durations=False)


def _maps(folder: Path, stems) -> None:
    rng = np.random.default_rng(4)
    for stem in stems:
        d = rng.random((H, W)) + 0.1
        save_npy(folder / f"{stem}.npy", np.log(d / d.sum()))


def _racer(ds, maps, base: Path, seed: int, barrier, results) -> None:
    for i in range(ROUNDS):
        barrier.wait()  # both runs start each round at the same moment
        try:
            evaluate(ds, maps, base / f"round{i}", replace(OPTIONS, seed=seed), workers=1, progress=False)
            results.put((i, seed, "ok"))
        except EvaluateError as e:
            results.put((i, seed, str(e)))


def _part_rows(folder: Path) -> dict[str, list]:
    return {p.stem: json.loads(p.read_text())["rows"] for p in (folder / "parts").glob("[0-9]*.json")}


@pytest.mark.timeout(300)
def test_two_runs_started_together_never_mix_their_settings(tmp_path):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    refs = {s: evaluate(ds, tmp_path / "maps", tmp_path / f"ref{s}", replace(OPTIONS, seed=s), workers=1,
                        progress=False) for s in (0, 1)}
    assert not refs[0].per_image.equals(refs[1].per_image)  # the seed shows in the numbers
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    base = tmp_path / "race"
    procs = [ctx.Process(target=_racer, args=(ds, tmp_path / "maps", base, s, barrier, results)) for s in (0, 1)]
    for p in procs:
        p.start()
    got: dict[int, dict[int, str]] = {}
    for _ in range(2 * ROUNDS):
        i, seed, outcome = results.get(timeout=240)
        got.setdefault(i, {})[seed] = outcome
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    live = 0
    for i, outcome in sorted(got.items()):
        ok = [s for s, o in outcome.items() if o == "ok"]
        assert len(ok) == 1, f"round {i}: {outcome}"  # two seeds: never both accepted
        refused = outcome[1 - ok[0]]
        assert ("another evaluate run" in refused and "seed" in refused), f"round {i}: {refused}"
        live += "is writing into this folder now" in refused
        # The folder holds the winner's run and only it: manifest, settings record, tables and parts.
        out, ref = base / f"round{i}", tmp_path / f"ref{ok[0]}"
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["options"]["seed"] == ok[0]
        assert json.loads((out / "parts" / "settings.json").read_text())["settings"] == manifest["settings"]
        for name in ("per_image.csv", "summary.csv"):
            assert (out / name).read_bytes() == (ref / name).read_bytes(), f"round {i}: {name}"
        assert _part_rows(out) == _part_rows(ref), f"round {i}: parts"
    assert live  # some rounds did overlap (the others found the first run finished)


def _cli(out: Path, seed: int) -> list[str]:
    demo = Path(SRC) / "asdgaze" / "demo" / "TrainingDataset"
    return [sys.executable, "-m", "asdgaze.cli", "evaluate", "--dataset", str(demo), "--baselines", "centerbias",
            "--metrics", "nss,auc_shuffled", "--convention", "mit", "--workers", "1", "--no-progress",
            "--out", str(out), "--seed", str(seed)]


@pytest.mark.timeout(300)
def test_two_evaluate_commands_started_together(tmp_path):
    # as the report had it: `asdgaze evaluate ... --seed 1 &` and `... --seed 0 &` into one folder
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = {s: subprocess.Popen(_cli(tmp_path / "out", s), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for s in (1, 0)}
    outs = {s: p.communicate(timeout=240) for s, p in procs.items()}
    ok = [s for s, p in procs.items() if p.returncode == 0]
    assert len(ok) == 1, {s: (p.returncode, outs[s][1][-500:]) for s, p in procs.items()}
    loser = 1 - ok[0]
    assert procs[loser].returncode == 1 and "another evaluate run" in outs[loser][1]
    ref = subprocess.run(_cli(tmp_path / "ref", ok[0]), env=env, capture_output=True, text=True, timeout=240)
    assert ref.returncode == 0, ref.stderr
    for name in ("per_image.csv", "summary.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["options"]["seed"] == ok[0]


def test_parts_made_with_other_settings_are_scored_again(tmp_path):
    # The state the race left: parts of a seed-0 run under a seed-1 settings record. A seed-1 rerun
    # must not take those parts for its own.
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    out = tmp_path / "out"
    evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    ref1 = evaluate(ds, tmp_path / "maps", tmp_path / "ref1", replace(OPTIONS, seed=1), workers=1, progress=False)
    settings1 = json.loads((tmp_path / "ref1" / "parts" / "settings.json").read_text())
    (out / "parts" / "settings.json").write_text(json.dumps(settings1))
    (out / "manifest.json").unlink()
    res = evaluate(ds, tmp_path / "maps", out, replace(OPTIONS, seed=1), workers=1, progress=False)
    assert res.resumed == []
    assert (out / "per_image.csv").read_bytes() == (tmp_path / "ref1" / "per_image.csv").read_bytes()
    pd.testing.assert_frame_equal(res.per_image, ref1.per_image)


def test_a_part_without_a_settings_fingerprint_is_scored_again(tmp_path):
    # parts written by an older version carry no fingerprint: rescored, not trusted, no crash
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    out = tmp_path / "out"
    evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    for p in (out / "parts").glob("[0-9]*.json"):
        part = json.loads(p.read_text())
        assert len(part["key"]["settings"]) == 64
        del part["key"]["settings"]
        p.write_text(json.dumps(part))
    before = (out / "per_image.csv").read_bytes()
    res = evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    assert res.resumed == [] and (out / "per_image.csv").read_bytes() == before
    assert evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False).resumed == sorted(ds.stimuli)


_HOLD = """
import sys, time
from pathlib import Path
from asdgaze.folderlock import FolderClaim
claim = FolderClaim()
with claim.hold(Path(sys.argv[1]), {"options": {"seed": int(sys.argv[2])}}, "evaluate run"):
    pass
print("held", flush=True)
time.sleep(120)
"""


def _holder(folder: Path, seed: int) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder), str(seed)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_live_run_with_other_settings_is_refused_and_a_dead_ones_lock_is_not_in_the_way(tmp_path):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    out = tmp_path / "out"
    holder = _holder(out, 7)
    try:
        with pytest.raises(EvaluateError, match=r"another evaluate run \(pid \d+ .*options.seed: 7 -> 0"):
            evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
        assert not (out / "parts").exists()  # refused before anything was written
    finally:
        holder.send_signal(signal.SIGKILL)  # dies without releasing anything
        holder.wait()
    assert (out / LOCK).is_file()  # the stale record stays; the kernel dropped the lock itself
    res = evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    assert res.ok and (out / "manifest.json").is_file()


def test_same_settings_share_the_folder_but_overwrite_is_refused_while_it_is_held(tmp_path):
    from asdgaze.folderlock import FolderClaim

    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    out = tmp_path / "out"
    evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    settings = json.loads((out / "parts" / "settings.json").read_text())["settings"]
    with FolderClaim() as claim:  # a live run with the same settings (another shard, say)
        with claim.hold(out, settings, "evaluate run"):
            pass
        assert evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False).ok
        with pytest.raises(EvaluateError, match="--overwrite would delete the work of another evaluate run"):
            evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False, overwrite=True)
    # released: the same overwrite now goes through
    assert evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False, overwrite=True).ok


def test_the_claim_is_released_when_the_run_fails(tmp_path):
    ds = _dataset(tmp_path)
    _maps(tmp_path / "maps", ds.stimuli)
    out = tmp_path / "out"

    def boom(stem):
        raise RuntimeError("a bug while scoring")

    mp = pytest.MonkeyPatch()
    mp.setattr(ev.pool, "_score_image", boom)
    try:
        with pytest.raises(RuntimeError, match="a bug"):
            evaluate(ds, tmp_path / "maps", out, OPTIONS, workers=1, progress=False)
    finally:
        mp.undo()
    # another run with other settings is not refused for a live run: only for the finished record
    with pytest.raises(EvaluateError, match="holds results of another evaluate run"):
        evaluate(ds, tmp_path / "maps", out, replace(OPTIONS, seed=1), workers=1, progress=False)
    t = time.perf_counter()
    assert evaluate(ds, tmp_path / "maps", out, replace(OPTIONS, seed=1), workers=1, progress=False,
                    overwrite=True).ok
    assert time.perf_counter() - t < 60
