"""`asdgaze run` converts saliency-map models and adapts density models to each group by default, says so in the
terminal, in adaptation.json and in the report's headline; --no-convert --no-adapt turn both off; a resumed
evaluate scores every image again when a fitted model changed."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
from PIL import Image

from asdgaze.cli import main
from asdgaze.evaluate import EvaluateOptions, evaluate

from _tiny import tiny_dataset  # noqa: E402 (tests/ helper)

H, W = 30, 40


def _table_and_maps(tmp_path, n: int = 8):
    ds = tiny_dataset(tmp_path, n, h=H, w=W, n_fix=24, per_viewer=4, write_images=True)
    rows = ["image,x,y,group,viewer"]
    for g in ds.groups:
        for s, f in ds.fixations[g].items():
            rows += [f"{s}.png,{x:g},{y:g},{g},{v}" for x, y, v in zip(f.x, f.y, f.viewer)]
    (tmp_path / "fix.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "maps").mkdir()
    yy, xx = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(2)
    for s in ds.stimuli:
        m = np.exp(-(((yy - H / 2) / 9.0) ** 2 + ((xx - W / 2) / 12.0) ** 2)) + 0.3 * rng.random((H, W))
        Image.fromarray(np.round(255 * m / m.max()).astype(np.uint8)).save(tmp_path / "maps" / f"{s}.jpg")
    return ds


def _run(tmp_path, out, *extra):
    return main(["run", "--dataset", str(tmp_path / "imgs"), "--table", str(tmp_path / "fix.csv"), "--coords",
                 "0-based", "--out", str(tmp_path / out), "--models", f"mine={tmp_path / 'maps'}", "--baselines",
                 "centerbias", "--metrics", "nss,ll,ig", "--n-resamples", "200", "--n-permutations", "10",
                 "--workers", "1", "--no-progress", *extra])


def test_run_converts_and_adapts_by_default_and_the_flags_turn_it_off(tmp_path, capsys):
    _table_and_maps(tmp_path)
    assert _run(tmp_path, "on") == 0
    said = capsys.readouterr().out
    res = tmp_path / "on" / "results"
    per_image = pd.read_csv(res / "per_image.csv", dtype={"image": str})
    assert set(per_image["model"]) == {"mine", "mine+adapted", "centerbias"}
    mine = per_image[(per_image["model"] == "mine") & (per_image["convention"] == "probabilistic")]
    assert set(mine["metric"]) == {"nss", "ll", "ig"}
    assert mine["saliency_map"].str.startswith("converted from a saliency map").all()
    record = json.loads((res / "adaptation.json").read_text())
    assert record["groups"] == ["TD", "ASD"] and record["models"][0]["model"] == "mine"
    assert record["sentences"] and all(s in said for s in record["sentences"])
    html = (tmp_path / "on" / "report" / "report.html").read_text()
    section = re.search(r'<ul id="adaptation-sentences">(.*?)</ul>', html, re.S).group(1)
    items = [re.sub(r"\s+", " ", i).strip() for i in re.findall(r"<li>(.*?)</li>", section, re.S)]
    import html as h

    assert [h.unescape(i) for i in items][-len(record["sentences"]):] == record["sentences"]
    assert any("mine is a saliency map, converted to a density" in h.unescape(i) for i in items)

    assert _run(tmp_path, "off", "--no-convert", "--no-adapt") == 0
    off = pd.read_csv(tmp_path / "off" / "results" / "per_image.csv", dtype={"image": str})
    assert set(off["model"]) == {"mine", "centerbias"} and not (tmp_path / "off" / "results" / "adaptation.json").exists()
    assert set(off[off["model"] == "mine"]["convention"]) == {"mit"}
    # every line of the run without them is a line of the run with them, byte for byte and in order
    for name in ("per_image.csv", "summary.csv"):
        lines = iter((res / name).read_text().splitlines())
        assert all(line in lines for line in (tmp_path / "off" / "results" / name).read_text().splitlines())


def test_a_resumed_evaluate_scores_every_image_again_when_a_fitted_model_changed(tmp_path):
    ds = _table_and_maps(tmp_path, 6)
    opts = EvaluateOptions(metrics=("nss",), prob_metrics=("ll",), convert=True)
    evaluate(ds, {"mine": tmp_path / "maps"}, tmp_path / "out", opts, workers=1, progress=False)
    again = evaluate(ds, {"mine": tmp_path / "maps"}, tmp_path / "out", opts, workers=1, progress=False)
    assert sorted(again.resumed) == sorted(ds.stimuli)  # nothing changed: every image taken from its part
    m = np.asarray(Image.open(tmp_path / "maps" / "1.jpg"))
    Image.fromarray(255 - m).save(tmp_path / "maps" / "1.jpg")  # one map changes: the conversion of every fold
    third = evaluate(ds, {"mine": tmp_path / "maps"}, tmp_path / "out", opts, workers=1, progress=False)
    assert third.resumed == []
