"""One stage folder for predict, evaluate, baselines and run: a command refuses a folder another kind of
command made, saying what it is, and writes nothing there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asdgaze.analysis.compare import CompareOptions
from asdgaze.cli import main
from asdgaze.data.types import Dataset
from asdgaze.errors import OptionsError
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.run import RunError, run
from asdgaze.stagefolder import StageFolder, found_kind

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)


def _dataset(tmp_path: Path) -> Dataset:
    return tiny_dataset(tmp_path, 3, groups=("A", "B"),
                        n_fix=8, per_viewer=4, seed=0, images="img", durations=False, write_images=True)


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_evaluate_refuses_a_run_folder_and_run_an_evaluate_folder(tmp_path):
    ds = _dataset(tmp_path)
    opts = EvaluateOptions(baselines=("uniform",), metrics=("nss",), prob_metrics=("ll",))
    run(ds, tmp_path / "run", models="", baselines=["uniform"], evaluate_options=opts,
        compare_options=CompareOptions("A", "B", n_resamples=100, n_permutations=10), progress=False,
        echo=lambda s: None)
    assert found_kind(tmp_path / "run")[0] == "run"
    before = _files(tmp_path / "run")
    with pytest.raises(EvaluateError, match=r"is an `asdgaze run` folder .*another --out"):
        evaluate(ds, None, tmp_path / "run", opts, workers=1, progress=False)
    assert _files(tmp_path / "run") == before  # nothing written beside run.json
    # the run's own results folder is an evaluate folder: a run into it is refused
    evaluate(ds, None, tmp_path / "ev", opts, workers=1, progress=False)
    assert found_kind(tmp_path / "ev")[0] == "evaluate"
    with pytest.raises(RunError, match=r"is the output folder of `asdgaze evaluate`"):
        run(ds, tmp_path / "ev", models="", baselines=["uniform"], evaluate_options=opts, progress=False,
            compare_options=CompareOptions("A", "B"), echo=lambda s: None)
    # the same from the command line: one line, exit 1
    rc = main(["evaluate", "--dataset", str(tmp_path / "img"), "--out", str(tmp_path / "run"), "--baselines",
               "uniform", "--no-progress"])
    assert rc != 0


def test_folders_of_earlier_versions_are_recognised_by_their_files(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "run-settings.json").write_text("{}")
    (tmp_path / "e" / "parts").mkdir(parents=True)
    (tmp_path / "e" / "parts" / "settings.json").write_text('{"settings": {}}')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_text(json.dumps({"tool": "asdgaze baselines"}))
    assert [found_kind(tmp_path / k)[0] for k in "peb"] == ["predict", "evaluate", "baselines"]
    assert found_kind(tmp_path / "new") is None
    with pytest.raises(OptionsError, match="output folder of `asdgaze evaluate`"):
        StageFolder(tmp_path / "e", "predict").check_kind()
    with pytest.raises(OptionsError, match="output folder of `asdgaze predict`"):
        StageFolder(tmp_path / "p", "evaluate").check_kind()
    StageFolder(tmp_path / "e", "evaluate").check_kind()  # its own kind: fine


def test_baselines_refuses_another_kind_of_folder(tmp_path):
    ds = _dataset(tmp_path)
    from asdgaze.evaluate.baselines import write_baselines

    evaluate(ds, None, tmp_path / "ev", EvaluateOptions(baselines=("uniform",), metrics=("nss",),
                                                        conventions=("mit",)), workers=1, progress=False)
    with pytest.raises(OptionsError, match="output folder of `asdgaze evaluate`"):
        write_baselines(ds, ("uniform",), tmp_path / "ev")
    written = write_baselines(ds, ("uniform",), tmp_path / "b")
    assert found_kind(tmp_path / "b")[0] == "baselines" and (written["uniform"] / "A" / "1.npy").is_file()
