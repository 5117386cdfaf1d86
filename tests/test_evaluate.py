"""The evaluate pipeline: wiring, options, outputs and errors (metric values are tested in tests/metrics)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdgaze.data.types import Dataset, Fixations, Stimulus
from asdgaze.evaluate import EvaluateError, EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy

H, W = 40, 56


def _dataset(tmp_path: Path, n_images: int = 4) -> Dataset:
    rng = np.random.default_rng(123)
    stimuli, fix = {}, {"ASD": {}, "TD": {}}
    for i in range(1, n_images + 1):
        stem = str(i)
        stimuli[stem] = Stimulus(stem, tmp_path / f"{stem}.png", H, W)
        for g, n in (("ASD", 12), ("TD", 15)):
            x = rng.integers(0, W, n) + 0.5
            y = rng.integers(0, H, n) + 0.5
            fix[g][stem] = Fixations.from_arrays(x, y, np.full(n, 200.0), np.arange(n) // 4)
    return Dataset("tiny", tmp_path, stimuli, fix)


def _write_maps(folder: Path, ds: Dataset, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = {}
    for stem in ds.stimuli:
        m = rng.random((H, W))
        save_npy(folder / f"{stem}.npy", m)
        maps[stem] = m
    return maps


def _value(per_image: pd.DataFrame, image: str, group: str, metric: str) -> float:
    sel = per_image[(per_image.image == image) & (per_image.group == group) & (per_image.metric == metric)]
    assert len(sel) == 1
    return float(sel.value.iloc[0])


def test_outputs_and_hand_computed_nss(tmp_path):
    ds = _dataset(tmp_path)
    maps = _write_maps(tmp_path / "maps", ds)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"),
                   workers=1, progress=False)
    for name in ("per_image.csv", "summary.csv", "summary.json", "manifest.json"):
        assert (tmp_path / "out" / name).is_file()
    assert len(res.per_image) == 4 * 2 * 9
    assert set(res.per_image.convention) == {"mit"}
    # NSS by hand: z-score with the sample std (ddof 1), mean over unique fixated pixels.
    for stem in ds.stimuli:
        for g in ("ASD", "TD"):
            f = ds.fixations[g][stem]
            pix = {(int(yy), int(xx)) for xx, yy in zip(f.x, f.y)}
            s = maps[stem]
            z = (s - s.mean()) / s.std(ddof=1)
            expected = np.mean([z[r, c] for r, c in pix])
            assert _value(res.per_image, stem, g, "nss") == pytest.approx(expected, rel=1e-12)
    # summary = mean / sd / n of the per-image table
    nss_td = res.per_image[(res.per_image.group == "TD") & (res.per_image.metric == "nss")].value
    row = res.summary[(res.summary.group == "TD") & (res.summary.metric == "nss")].iloc[0]
    assert row["mean"] == pytest.approx(nss_td.mean()) and row["sd"] == pytest.approx(nss_td.std(ddof=1))
    assert row["n"] == 4
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["options"]["seed"] == 0 and manifest["options"]["ig_baseline"] == "gaussian"
    assert set(manifest["maps"]["sha256"]) == set(ds.stimuli)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "gaussian" in summary["description"]["ig_baseline"].lower() or "centre" in summary["description"]["ig_baseline"]


def test_cc_is_one_when_the_map_is_the_groups_fixation_map(tmp_path):
    from asdgaze.data.fixmaps import continuous_map

    ds = _dataset(tmp_path, n_images=2)
    (tmp_path / "maps").mkdir()
    for stem in ds.stimuli:
        save_npy(tmp_path / "maps" / f"{stem}.npy", continuous_map(ds, "TD", stem))
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"),
                   workers=1, progress=False)
    for stem in ds.stimuli:
        assert _value(res.per_image, stem, "TD", "cc") == pytest.approx(1.0, abs=1e-12)
        assert _value(res.per_image, stem, "TD", "sim") == pytest.approx(1.0, abs=1e-12)
        assert _value(res.per_image, stem, "TD", "kl") == pytest.approx(0.0, abs=1e-9)
        assert _value(res.per_image, stem, "ASD", "cc") < 1.0


def test_log_density_scores_like_its_density(tmp_path):
    ds = _dataset(tmp_path, n_images=2)
    maps = _write_maps(tmp_path / "sal", ds)
    for stem, m in maps.items():
        save_npy(tmp_path / "logd" / f"{stem}.npy", np.log(m / m.sum()))
    a = evaluate(ds, tmp_path / "sal", tmp_path / "o1", EvaluateOptions(maps_kind="saliency"),
                 workers=1, progress=False).per_image
    b = evaluate(ds, tmp_path / "logd", tmp_path / "o2", EvaluateOptions(maps_kind="log-density", conventions=("mit",)),
                 workers=1, progress=False).per_image
    # Every MIT metric is invariant to scaling the map by a positive constant, except through the
    # 1e-7 AUC-Judd jitter on the raw scale; compare the scale-free ones tightly.
    for metric in ("nss", "cc", "kl", "sim", "ig", "auc_borji", "auc_shuffled"):
        va = a[a.metric == metric].value.to_numpy()
        vb = b[b.metric == metric].value.to_numpy()
        np.testing.assert_allclose(va, vb, rtol=1e-9, atol=1e-12, err_msg=metric)


def test_results_do_not_depend_on_workers(tmp_path):
    ds = _dataset(tmp_path)
    _write_maps(tmp_path / "maps", ds)
    one = evaluate(ds, tmp_path / "maps", tmp_path / "o1", EvaluateOptions(maps_kind="saliency"),
                   workers=1, progress=False).per_image
    two = evaluate(ds, tmp_path / "maps", tmp_path / "o2", EvaluateOptions(maps_kind="saliency"),
                   workers=2, progress=False).per_image
    pd.testing.assert_frame_equal(one, two)


def test_seed_changes_only_random_metrics(tmp_path):
    ds = _dataset(tmp_path, n_images=3)
    _write_maps(tmp_path / "maps", ds)
    a = evaluate(ds, tmp_path / "maps", tmp_path / "o1", EvaluateOptions(maps_kind="saliency", seed=0),
                 workers=1, progress=False).per_image
    b = evaluate(ds, tmp_path / "maps", tmp_path / "o2", EvaluateOptions(maps_kind="saliency", seed=1),
                 workers=1, progress=False).per_image
    for metric in ("nss", "cc", "kl", "sim", "ig", "emd"):
        np.testing.assert_array_equal(a[a.metric == metric].value, b[b.metric == metric].value)
    assert not np.array_equal(a[a.metric == "auc_borji"].value, b[b.metric == "auc_borji"].value)


def test_missing_maps_are_listed(tmp_path):
    ds = _dataset(tmp_path)
    _write_maps(tmp_path / "maps", ds)
    (tmp_path / "maps" / "2.npy").unlink()
    (tmp_path / "maps" / "4.npy").unlink()
    with pytest.raises(EvaluateError, match=r"2 of 4 images: 2, 4"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"),
                 workers=1, progress=False)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out",
                   EvaluateOptions(maps_kind="saliency", allow_missing=True), workers=1, progress=False)
    assert set(res.per_image.image) == {"1", "3"} and res.missing == ["2", "4"]


def test_npy_without_kind_and_unknown_group_are_errors(tmp_path):
    ds = _dataset(tmp_path, n_images=1)
    _write_maps(tmp_path / "maps", ds)
    with pytest.raises(EvaluateError, match="maps-kind"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(), workers=1, progress=False)
    with pytest.raises(EvaluateError, match="XYZ"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", groups=("XYZ",)),
                 workers=1, progress=False)


def test_map_of_another_size_is_resized_with_a_warning(tmp_path):
    ds = _dataset(tmp_path, n_images=2)
    yy, xx = np.mgrid[0:H // 2, 0:W // 2]
    smooth = 1.0 + np.exp(-((yy - 8.0) ** 2 + (xx - 12.0) ** 2) / 50.0)  # no bicubic overshoot below 0
    for stem in ds.stimuli:
        save_npy(tmp_path / "maps" / f"{stem}.npy", smooth)
    with pytest.warns(UserWarning, match="resized"):
        res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"),
                       workers=1, progress=False)
    assert np.all(np.isfinite(res.per_image.value))
    assert any("resized" in n for n in res.notes)


def test_group_selection(tmp_path):
    ds = _dataset(tmp_path, n_images=2)
    _write_maps(tmp_path / "maps", ds)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", groups=("TD",)),
                   workers=1, progress=False)
    assert set(res.per_image.group) == {"TD"}


def test_uniform_ig_baseline_by_hand(tmp_path):
    ds = _dataset(tmp_path, n_images=2)
    maps = _write_maps(tmp_path / "maps", ds)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out",
                   EvaluateOptions(maps_kind="saliency", ig_baseline="uniform", metrics=("ig",)),
                   workers=1, progress=False)
    eps = 2.220446049250313e-16
    for stem, s in maps.items():
        p = (s - s.min()) / (s.max() - s.min())
        p /= p.sum()
        f = ds.fixations["ASD"][stem]
        pix = sorted({(int(yy), int(xx)) for xx, yy in zip(f.x, f.y)})
        expected = np.mean([np.log2(eps + p[r, c]) - np.log2(eps + 1 / (H * W)) for r, c in pix])
        assert _value(res.per_image, stem, "ASD", "ig") == pytest.approx(expected, rel=1e-12)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["description"]["ig_baseline"] == "uniform map"


def test_an_unusable_map_is_listed_and_the_others_are_scored(tmp_path):
    ds = _dataset(tmp_path, n_images=3)
    _write_maps(tmp_path / "maps", ds)
    save_npy(tmp_path / "maps" / "2.npy", np.full((H, W), np.nan))
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency"),
                   workers=1, progress=False)
    # One failure entry per requested group, each "<file>: <problem>".
    assert not res.ok and [(f.image, f.group) for f in res.failures] == [("2", "ASD"), ("2", "TD")]
    assert all(f.error.startswith(str(tmp_path / "maps" / "2.npy") + ": ") for f in res.failures)
    assert set(res.per_image.image) == {"1", "3"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["failures"][0]["image"] == "2"


def test_repeated_groups_count_once_and_bad_seeds_are_refused(tmp_path):
    ds = _dataset(tmp_path, n_images=2)
    _write_maps(tmp_path / "maps", ds)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out",
                   EvaluateOptions(maps_kind="saliency", groups=("TD", "TD"), metrics=("nss",)),
                   workers=1, progress=False)
    assert len(res.per_image) == 2 and int(res.summary["n"].iloc[0]) == 2
    with pytest.raises(EvaluateError, match="seed"):
        evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", seed=-1),
                 workers=1, progress=False)


def test_in_process_run_leaves_the_callers_thread_limits_alone(tmp_path):
    from threadpoolctl import threadpool_info

    ds = _dataset(tmp_path, n_images=1)
    _write_maps(tmp_path / "maps", ds)
    before = [p["num_threads"] for p in threadpool_info()]
    evaluate(ds, tmp_path / "maps", tmp_path / "out", EvaluateOptions(maps_kind="saliency", metrics=("nss",)),
             workers=1, progress=False)
    assert [p["num_threads"] for p in threadpool_info()] == before


def test_template_baseline_and_png_maps_by_hand(tmp_path):
    from PIL import Image

    ds = _dataset(tmp_path, n_images=2)
    rng = np.random.default_rng(3)
    maps = {}
    (tmp_path / "maps").mkdir()
    for stem in ds.stimuli:
        m8 = rng.integers(0, 256, (H, W)).astype(np.uint8)
        Image.fromarray(m8).save(tmp_path / "maps" / f"{stem}.png")
        maps[stem] = m8 / 255.0
    # Template at the image size (no resize): a ramp over columns, saved as a saliency .npy.
    ramp = np.tile(np.arange(W, dtype=np.float64) + 1.0, (H, 1))
    save_npy(tmp_path / "ramp.npy", ramp)
    res = evaluate(ds, tmp_path / "maps", tmp_path / "out",
                   EvaluateOptions(ig_baseline=str(tmp_path / "ramp.npy"), ig_baseline_kind="saliency",
                                   metrics=("ig",), groups=("TD",)), workers=1, progress=False)
    eps = 2.220446049250313e-16
    pb = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    pb /= pb.sum()
    for stem, s in maps.items():
        ps = (s - s.min()) / (s.max() - s.min())
        ps /= ps.sum()
        f = ds.fixations["TD"][stem]
        pix = sorted({(int(yy), int(xx)) for xx, yy in zip(f.x, f.y)})
        expected = np.mean([np.log2(eps + ps[r, c]) - np.log2(eps + pb[r, c]) for r, c in pix])
        assert _value(res.per_image, stem, "TD", "ig") == pytest.approx(expected, rel=1e-12)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["ig_baseline"]["kind"] == "file" and len(manifest["ig_baseline"]["sha256"]) == 64
