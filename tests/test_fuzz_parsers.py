"""tools/fuzz_parsers.py: a few of its cases, and its checks catch what issue 15 found."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from asdgaze.data.types import Dataset, Fixations, Stimulus

TOOL = Path(__file__).resolve().parent.parent / "tools" / "fuzz_parsers.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_parsers", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_run_finds_nothing_and_repeats_itself(fuzz, tmp_path, capsys):
    args = ["--iterations", "60", "--seconds", "300", "--seed", "3", "--crashes", str(tmp_path / "crashes")]
    assert fuzz.main(args) == 0
    first = capsys.readouterr().out.splitlines()
    assert fuzz.main(args) == 0
    again = capsys.readouterr().out.splitlines()
    assert first[1:] == again[1:]  # the same seed, the same inputs and outcomes (line 0 has the time)
    assert first[-1] == "result: ok (no exception other than DataError)"
    for target in ("scanpath", "table", "names"):
        assert any(line.strip().startswith(f"{target}:") for line in first), target
    assert not (tmp_path / "crashes").exists()


def _dataset(ids: list[str], folder: Path, viewers: list[int]) -> Dataset:
    stimuli = {s: Stimulus(s, folder / f"{s}.png", 8, 10) for s in ids}
    fx = Fixations.from_arrays([1.0] * len(viewers), [1.0] * len(viewers), None, viewers)
    return Dataset("t", folder, stimuli, {"all": {ids[0]: fx}})


def test_checks_catch_dropped_folder_parts_and_split_viewers(fuzz, tmp_path):
    folder = tmp_path / "named"
    fuzz._make_named_images(folder)
    rows = [["image", "x", "y"], ["a/1.png", "1", "1"]]
    flat = _dataset(["1"], folder, [0])  # a/1.png read as 1.png: what the loader did before issue 15
    with pytest.raises(RuntimeError, match="'a/1.png' names the image a/1, which is not in the dataset"):
        fuzz.check_named_files(flat, rows, folder)
    fuzz.check_named_files(_dataset(["1", "a/1"], folder, [0]), rows, folder)
    # viewers 1 and 1.0 counted apart: 3 viewers, 2 once both are spelt 1.0
    with pytest.raises(RuntimeError, match=r"counted apart \(3 viewers, 2 when spelt alike\)"):
        fuzz.same_viewers(_dataset(["1"], folder, [5, 6, 7]), _dataset(["1"], folder, [1, 1, 2]))
    fuzz.same_viewers(_dataset(["1"], folder, [5, 5, 7]), _dataset(["1"], folder, [1, 1, 2]))
    assert fuzz.respell_viewers([["Viewer "], ["1"], ["P1"], ["-3"]]) == [["Viewer "], ["1.0"], ["P1"], ["-3.0"]]
