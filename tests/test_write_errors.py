"""Outputs that cannot be written (issue 15, case 7): a full disk, a read-only folder, a file where a folder
should be. Each gives one line naming the file and the problem (no traceback), with how far the run got
and how to resume where images were finished, and exit 1.

The tests run as root, where chmod stops nothing: a full disk and a read-only file system are injected
(an OSError with that errno where the file is written); a file in the way of a folder is real."""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest

from asdgaze.cli import main
from asdgaze.data import demo_dataset_path
from asdgaze.errors import AsdgazeError, OutputError
from asdgaze.io import atomic_path, write_json_atomic, write_npy_atomic, write_text_atomic

DEMO = str(demo_dataset_path())
ENOSPC = os.strerror(errno.ENOSPC)  # "No space left on device"
EROFS = os.strerror(errno.EROFS)  # "Read-only file system"


def fail_replace(monkeypatch, name: str, err: int = errno.ENOSPC) -> None:
    """The rename that completes a write of a file called ``name`` fails with ``err`` (as a full disk would)."""
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == name:
            raise OSError(err, os.strerror(err))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def read_only(monkeypatch, folder: Path) -> None:
    """Creating a file in ``folder`` fails as on a read-only file system."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == folder:
            raise OSError(errno.EROFS, EROFS, str(Path(dir) / ".x.part"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# --- the write helpers ------------------------------------------------------------------------------


def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path):
    p = tmp_path / "a.json"
    write_json_atomic(p, {"old": 1})
    with pytest.raises(OutputError) as e:
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, ENOSPC)
    assert str(e.value) == f"{p}: cannot write ({ENOSPC})" and e.value.errno == errno.ENOSPC
    assert isinstance(e.value, AsdgazeError) and isinstance(e.value, OSError)
    assert p.read_text() == '{\n  "old": 1\n}\n' and sorted(x.name for x in tmp_path.iterdir()) == ["a.json"]


def test_a_file_in_the_way_of_a_folder_is_named(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError) as e:
        write_text_atomic(tmp_path / "f" / "sub" / "x.txt", "x")
    assert str(e.value) == f"{tmp_path / 'f' / 'sub'}: cannot write ({os.strerror(errno.ENOTDIR)})"
    with pytest.raises(OutputError, match=r"/f: cannot write \(exists and is not a folder\)$"):
        write_text_atomic(tmp_path / "f" / "x.txt", "x")


def test_other_errors_inside_a_write_stay_what_they_are(tmp_path):
    """A source that cannot be read, or a network error, met while writing is not the output's fault."""
    with pytest.raises(PermissionError) as e:
        with atomic_path(tmp_path / "out.bin"):
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "in" / "source.bin"))
    assert not isinstance(e.value, OutputError)
    with pytest.raises(OSError) as e:
        with atomic_path(tmp_path / "out.bin"):
            raise OSError("<urlopen error timed out>")
    assert not isinstance(e.value, OutputError)


def test_npy_files_report_a_full_disk_by_its_errno(tmp_path, monkeypatch):
    """numpy's own file writer says "N requested and M written"; ours writes bytes, so the errno comes through."""
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_npy_atomic(tmp_path / "a.npy", a)
    assert (tmp_path / "a.npy").read_bytes()[:6] == b"\x93NUMPY"
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), a)
    fail_replace(monkeypatch, "b.npy")
    with pytest.raises(OutputError, match=rf"b\.npy: cannot write \({ENOSPC}\)$"):
        write_npy_atomic(tmp_path / "b.npy", a)


def test_the_errno_survives_a_worker_process_and_picks_the_hint():
    e = pickle.loads(pickle.dumps(OutputError.with_errno("x: cannot write (full)", errno.ENOSPC)))
    assert type(e) is OutputError and str(e) == "x: cannot write (full)" and e.errno == errno.ENOSPC
    assert str(e.resumable(3, 8, "out")) == ("x: cannot write (full)\n3 of 8 images finished (saved in out); free "
                                             "space and rerun the same command to resume")
    ro = OutputError.with_errno("y: cannot write (ro)", errno.EROFS).resumable(0, 2, "o")
    assert str(ro).endswith("0 of 2 images finished (saved in o); make the folder writable and rerun the same "
                            "command to resume") and ro.errno == errno.EROFS


# --- evaluate ------------------------------------------------------------------------------------


EVALUATE = ["evaluate", "--dataset", DEMO, "--baselines", "uniform,centerbias", "--convention", "mit",
            "--metrics", "nss,cc", "--workers", "1", "--no-progress"]


def test_evaluate_on_a_full_disk_says_how_far_it_got_and_a_rerun_finishes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "ev"
    fail_replace(monkeypatch, "4.json")
    assert main([*EVALUATE, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (f"Error: {out / 'parts' / '4.json'}: cannot write ({ENOSPC})\n"
                   f"3 of 8 images finished (saved in {out / 'parts'}); free space and rerun the same command to "
                   "resume\n")
    monkeypatch.undo()
    fail_replace(monkeypatch, "summary.csv")  # every image scored, the tables cannot be written
    assert main([*EVALUATE, "--out", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"Error: {out / 'summary.csv'}: cannot write ({ENOSPC})\n"
        f"8 of 8 images finished (saved in {out / 'parts'}); free space and rerun the same command to resume\n")
    monkeypatch.undo()
    assert main([*EVALUATE, "--out", str(out)]) == 0
    assert "8 image(s) taken from the interrupted earlier run" in capsys.readouterr().out
    assert main([*EVALUATE, "--out", str(tmp_path / "clean")]) == 0
    for name in ("per_image.csv", "summary.csv"):
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


# --- compare and report --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    assert main([*EVALUATE, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", ["compare", "report"])
def test_compare_and_report_into_an_unwritable_folder(command, results, tmp_path, monkeypatch, capsys):
    args = [command, "--results", str(results), "--n-resamples", "100", "--n-permutations", "1"]
    (tmp_path / "file").write_text("")
    assert main([*args, "--out", str(tmp_path / "file" / "out")]) == 1  # a file where the folder would go
    assert capsys.readouterr().err == f"Error: {tmp_path / 'file' / 'out'}: cannot write (Not a directory)\n"
    ro = tmp_path / "ro"
    ro.mkdir()
    read_only(monkeypatch, ro)
    assert main([*args, "--out", str(ro)]) == 1
    assert capsys.readouterr().err == f"Error: {ro / 'group_stats.csv'}: cannot write ({EROFS})\n"


# --- weights import, baselines, anything else ----------------------------------------------------


def test_weights_import_into_an_unwritable_cache(tmp_path, monkeypatch, capsys):
    template = tmp_path / "centerbias_mit1003.npy"
    np.save(template, np.full((1024, 1024), -np.log(1024.0 * 1024.0)))
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "file" / "cache"))
    assert main(["weights", "import", str(template)]) == 1
    assert capsys.readouterr().err == f"Error: {tmp_path / 'file' / 'cache'}: cannot write (Not a directory)\n"
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ASDGAZE_HOME", str(cache))
    read_only(monkeypatch, cache)
    assert main(["weights", "import", str(template)]) == 1
    assert capsys.readouterr().err == f"Error: {cache / 'centerbias_mit1003.npy'}: cannot write ({EROFS})\n"
    assert list(cache.iterdir()) == []


def test_baselines_into_a_full_disk(tmp_path, monkeypatch, capsys):
    fail_replace(monkeypatch, "3.npy")
    out = tmp_path / "b"
    assert main(["baselines", "--dataset", DEMO, "--baselines", "uniform", "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"Error: {out / 'uniform' / 'ASD' / '3.npy'}: cannot write ({ENOSPC})\n"


def test_an_environment_error_from_anywhere_is_one_line(tmp_path, monkeypatch, capsys):
    """A full disk met where no stage names it still ends as one line, not a traceback."""
    import asdgaze.evaluate.baselines as cmd

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, ENOSPC, "/some/file")

    monkeypatch.setattr(cmd, "write_baselines", full)
    assert main(["baselines", "--dataset", DEMO, "--baselines", "uniform", "--out", str(tmp_path / "b")]) == 1
    assert capsys.readouterr().err == f"Error: /some/file: {ENOSPC}\n"
