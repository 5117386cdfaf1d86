"""`asdgaze demo`: `asdgaze run` on the bundled demo data; offline it says DeepGaze IIE is missing and goes on."""

from __future__ import annotations

import http.server
import threading
import time

import numpy as np
import pandas as pd
import pytest

from asdgaze.cli import main
from asdgaze.models.deepgaze import weights as w


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ASDGAZE_OFFLINE", raising=False)
    return tmp_path / "cache"


def _serve_from(monkeypatch, base: str) -> None:
    """Point the download at ``base`` (never the real server in a test)."""
    for name in (w.WEIGHTS_FILE, w.CENTERBIAS_FILE):
        monkeypatch.setitem(w.URLS, name, base + name)


@pytest.mark.parametrize("base", ["http://127.0.0.1:9/",        # refused
                                  "http://10.255.255.1:81/"])  # unroutable: no answer at all
def test_offline_the_download_gives_up_within_seconds(tmp_path, empty_cache, monkeypatch, base):
    from asdgaze.demo_run import plan_demo

    _serve_from(monkeypatch, base)
    t0 = time.monotonic()
    plan = plan_demo(None, None, echo=lambda s: None)
    assert time.monotonic() - t0 < 10
    assert plan.checkpoint is None
    assert "cannot be downloaded now" in plan.reason and str(empty_cache) in plan.reason
    assert not list(empty_cache.glob("*.pth"))


def test_offline_demo_says_deepgaze_is_missing_and_writes_the_report(tmp_path, empty_cache, capsys, monkeypatch):
    _serve_from(monkeypatch, "http://127.0.0.1:9/")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "DeepGaze IIE: MISSING, not run" in text
    assert "asdgaze weights download" in text and "asdgaze weights import FILE" in text
    assert "split arbitrarily into" in text
    assert "AUC-Judd" in text and (out / "report" / "report.html").is_file()
    html = (out / "report" / "report.html").read_text()
    assert "no one in them has a diagnosis" in html
    # The report says plainly that the model is missing, and run.json keeps the note.
    assert "DeepGaze IIE is MISSING from this demo" in html
    assert any("MISSING" in n for n in __import__("json").loads((out / "run.json").read_text())["notes"])
    # No substitute model: only the four default baselines were scored, in one results folder.
    assert not (out / "predict").exists()
    summary = pd.read_csv(out / "results" / "summary.csv")
    assert set(summary.model) == {"uniform", "centerbias", "gold-standard", "other-group"}
    assert set(summary.group) == {"ASD", "TD"} and set(summary.convention) == {"mit", "probabilistic"}
    # The gold standard (leave one viewer out) is the 100 % of ig_pct_gold, and in the MIT convention
    # has every metric but EMD, whose cost a ceiling does not repay.
    gold = summary[summary.model == "gold-standard"]
    assert set(gold[gold.convention == "probabilistic"].metric) == {"ll", "ig", "ig_pct_gold"}
    mit = set(summary[summary.convention == "mit"].metric)
    assert set(gold[gold.convention == "mit"].metric) == mit - {"emd"}
    assert np.allclose(gold[gold.metric == "ig_pct_gold"]["mean"], 100.0)
    scored = summary[summary.metric != "ig_pct_gold"]
    assert scored[scored.model.isin(["centerbias", "gold-standard"])]["n"].min() == 8


class _Garbage(http.server.BaseHTTPRequestHandler):
    body = b"<html>not a checkpoint</html>"

    def do_HEAD(self):  # noqa: N802 - http.server's names
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()

    def do_GET(self):  # noqa: N802
        self.do_HEAD()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_a_download_that_is_not_the_checkpoint_never_enters_the_cache(tmp_path, empty_cache, monkeypatch):
    from asdgaze.demo_run import plan_demo

    server = http.server.HTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _serve_from(monkeypatch, f"http://127.0.0.1:{server.server_port}/")
        said: list[str] = []
        plan = plan_demo(None, None, echo=said.append)
    finally:
        server.shutdown()
    assert any("downloading them into" in s for s in said)
    assert plan.checkpoint is None and "not the expected file" in plan.reason
    assert not (empty_cache / w.WEIGHTS_FILE).exists()


def test_no_download_flag_and_offline_variable(tmp_path, empty_cache, monkeypatch):
    from asdgaze.demo_run import plan_demo

    monkeypatch.setenv("ASDGAZE_OFFLINE", "1")
    assert "ASDGAZE_OFFLINE" in plan_demo(None, None).reason
    monkeypatch.delenv("ASDGAZE_OFFLINE")
    assert plan_demo(None, None, download=False).reason == f"no weights at {empty_cache / w.WEIGHTS_FILE}"


def test_demo_with_deepgaze_weights(tmp_path, capsys, checkpoint_seed0):
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--workers", "1", "--weights", str(checkpoint_seed0),
               "--centerbias", "uniform", "--no-progress"])
    assert rc == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "deepgaze2e (mit convention)" in out and "deepgaze2e (probabilistic convention)" in out
    assert "MISSING" not in out
    summary = pd.read_csv(tmp_path / "demo" / "results" / "summary.csv")
    summary = summary[summary.model == "deepgaze2e"]
    assert set(summary.group) == {"ASD", "TD"} and summary["n"].min() == 8
    assert len(list((tmp_path / "demo" / "predict" / "deepgaze2e" / "maps").glob("*.npy"))) == 8
    assert (tmp_path / "demo" / "report" / "report.html").is_file()


def test_demo_with_a_missing_weights_file_is_an_error(tmp_path, capsys):
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "nope.pth")])
    assert rc != 0
    assert "nope.pth" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_demo_checks_the_centre_bias_before_any_work(tmp_path, capsys, empty_cache):
    """--weights given, MIT1003 template missing: the error comes first, with nothing computed or printed."""
    (tmp_path / "w.pth").write_bytes(b"not looked at yet")
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"), "--workers", "1"])
    captured = capsys.readouterr()
    assert rc == 1
    assert str(empty_cache / "centerbias_mit1003.npy") in captured.err
    assert "asdgaze weights download" in captured.err and "--centerbias gaussian" in captured.err
    assert not (tmp_path / "demo").exists() and "AUC-Judd" not in captured.out


def test_demo_checks_the_weights_file_before_any_work(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"<html>not a checkpoint</html>")
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"),
               "--centerbias", "uniform", "--workers", "1"])
    captured = capsys.readouterr()
    assert rc == 1
    assert (f"{tmp_path / 'w.pth'}: not a PyTorch state dict of DeepGaze IIE (expected deepgaze2e.pth from "
            "https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/deepgaze2e.pth)") in captured.err
    assert "weights_only" not in captured.err
    assert not (tmp_path / "demo").exists()


def test_demo_refuses_a_saliency_map_as_centre_bias_before_any_work(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"x")
    np.save(tmp_path / "sal.npy", np.full((10, 10), 0.5))
    rc = main(["demo", "--out", str(tmp_path / "demo"), "--weights", str(tmp_path / "w.pth"),
               "--centerbias", str(tmp_path / "sal.npy")])
    assert rc == 1
    assert "values in [0, 1] summing to 50: this looks like a saliency map" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_demo_warnings_print_once_without_source_lines(tmp_path, capsys, empty_cache, monkeypatch):
    import warnings

    import asdgaze.demo_run as demo_run
    from asdgaze.errors import DataWarning

    monkeypatch.setenv("ASDGAZE_OFFLINE", "1")
    real = demo_run.load_demo

    def noisy():
        for _ in range(3):
            warnings.warn("demo.csv: dropped 2 fixations outside the image", DataWarning, stacklevel=2)
        return real()

    monkeypatch.setattr(demo_run, "load_demo", noisy)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--workers", "1", "--centerbias", "gaussian",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "dropped 2 fixations" in ln]
    assert lines == ["warning: demo.csv: dropped 2 fixations outside the image"]
    unused = [ln for ln in err.splitlines() if "--centerbias gaussian is not used" in ln]
    assert len(unused) == 1 and unused[0].startswith("warning: ")
    assert "DataWarning" not in err and "warnings.warn" not in err and "UserWarning" not in err


def test_ctrl_c_in_the_demo_says_which_stage_and_how_far_it_got(tmp_path, capsys, empty_cache, monkeypatch):
    from asdgaze.evaluate import EvaluateInterrupted

    def interrupted(*args, **kwargs):
        raise EvaluateInterrupted(3, 8, tmp_path / "parts")

    monkeypatch.setattr("asdgaze.evaluate.evaluate", interrupted)
    rc = main(["demo", "--out", str(tmp_path / "out"), "--no-download", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 130
    assert err.strip().splitlines()[-1] == (f"interrupted during [1/3] evaluate: 3 of 8 images finished (saved in "
                                            f"{tmp_path / 'parts'}); rerun the same command to resume")
    assert "aborted" not in err
