"""The report in a real headless browser (Debian's chromium; `make test` installs it when missing).

Checks: the page loads with no console message at all (a blocked load or a script error would
be one), the page makes no network request (Chromium's net log: every request started by a
document, as opposed to Chromium's own background services, whose initiator is "not an
origin"), and the tables and figures are in the rendered DOM and on the screenshot. The
screenshot is kept: under $ASDGAZE_TEST_ARTIFACTS if set (CI), else the test's tmp folder; its
path is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asdgaze.analysis.compare import CompareOptions
from asdgaze.report.html import build_report

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--disable-extensions", "--enable-logging=stderr", "--v=0"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no chromium on PATH: the browser test needs it (`apt-get install chromium`; `make test` installs it)",
                pytrace=False)


def _render(html: Path, work: Path, *extra: str, mode: str = "screenshot") -> tuple[str, str, list[dict]]:
    """Run chromium on ``html``; return (stdout, stderr, page-initiated requests from the net log)."""
    netlog = work / f"netlog-{html.stem}-{mode}.json"
    action = [f"--screenshot={work / (html.stem + '.png')}"] if mode == "screenshot" else ["--dump-dom"]
    proc = subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={netlog}",
                           *extra, *action, html.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requests = [e["params"] for e in log["events"]
                if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})
                and e["params"].get("initiator") != "not an origin"
                and not e["params"].get("url", "").startswith(("file:", "data:"))]
    return proc.stdout, proc.stderr, requests


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def rendered(demo_results, tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    report = build_report(demo_results, work / "report", CompareOptions(n_resamples=500, n_permutations=99))
    return work, report.html


def test_report_loads_offline_without_console_errors(rendered):
    work, html = rendered
    _, stderr, requests = _render(html, work, "--window-size=1280,9000")
    assert _console(stderr) == []
    assert requests == []
    shot = work / (html.stem + ".png")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (9000, 1280) and pixels.std() > 10  # not a blank page
    keep = Path(os.environ.get("ASDGAZE_TEST_ARTIFACTS", work))
    keep.mkdir(parents=True, exist_ok=True)
    if keep != work:
        shutil.copy(shot, keep / "report-screenshot.png")
        shot = keep / "report-screenshot.png"
    print(f"\nreport screenshot: {shot.resolve()}")


def test_rendered_dom_has_tables_and_decoded_figures(rendered):
    work, html = rendered
    dom, stderr, requests = _render(html, work, mode="dom")
    assert _console(stderr) == [] and requests == []
    assert len(re.findall(r"<table class=\"data\"", dom)) >= 4
    assert 'id="table-group-stats"' in dom
    assert len(re.findall(r"<img src=\"data:image/png;base64,", dom)) >= 5


def test_the_checks_catch_a_network_request_and_a_console_error(rendered):
    # Negative controls: the same page with an external image and a failing script.
    work, html = rendered
    text = html.read_text().replace("<h1>", '<img src="http://example.invalid/x.png"><h1>', 1)
    bad = work / "bad.html"
    bad.write_text(text)
    _, stderr, _ = _render(bad, work)
    assert any("example.invalid" in line for line in _console(stderr))  # the CSP blocks it, loudly
    unprotected = work / "unprotected.html"
    unprotected.write_text(re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", text))
    _, _, requests = _render(unprotected, work)
    assert [r["url"] for r in requests] == ["http://example.invalid/x.png"]


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    """`asdgaze run` on the demo: a model (a Gaussian centre log-density saved as maps), the fitted centre bias
    and the gold standard; its report, summary.json and terminal lines."""
    import contextlib
    import io

    from asdgaze.cli import main
    from asdgaze.data import demo_dataset_path, load_demo
    from asdgaze.maps.io import save_npy
    from asdgaze.models.baselines import gaussian_center_log_density

    work = tmp_path_factory.mktemp("browser-run")
    maps = work / "maps"
    maps.mkdir()
    for stem, stim in load_demo().stimuli.items():
        save_npy(maps / f"{stem}.npy", gaussian_center_log_density(stim.height, stim.width).astype(np.float32))
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = main(["run", "--dataset", str(demo_dataset_path()), "--out", str(work / "run"), "--models",
                     f"gauss={maps}", "--maps-kind", "log-density", "--baselines", "centerbias,gold-standard", "--n-resamples", "500",
                     "--n-permutations", "99", "--workers", "1", "--no-progress"])
    assert code == 0
    return work, work / "run", said.getvalue()


def test_the_first_screen_is_the_answer_and_matches_summary_json(run_report):
    import html as markup

    work, out, said = run_report
    dom, stderr, requests = _render(out / "report" / "report.html", work, mode="dom")
    assert _console(stderr) == [] and requests == []
    wanted = json.loads((out / "results" / "summary.json").read_text())["headline"]["sentences"]
    assert len(wanted) >= 4 and any(s.startswith("gauss,") for s in wanted)
    section = re.search(r'<ul id="headline">(.*?)</ul>', dom, re.S).group(1)
    shown = [markup.unescape(re.sub(r"\s+", " ", li).strip()) for li in re.findall(r"<li>(.*?)</li>", section, re.S)]
    assert shown == wanted
    # the answer comes before any table, and its figure is drawn
    assert dom.index('id="answer"') < dom.index("<table") and 'id="headline-figure"' in dom
    # and the same sentences end the terminal output
    tail = said.rstrip().splitlines()[-len(wanted):]
    assert [line.strip() for line in tail] == wanted
