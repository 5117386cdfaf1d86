"""End-to-end timing of `asdgaze evaluate` on a synthetic Saliency4ASD-sized dataset.

Builds, in a temporary folder, a dataset in the Saliency4ASD layout (N images of 768x1024, two
groups, ~300 fixations each, scanpath files only, so the continuous maps are rebuilt with the
dataset's recipe as for a copy without _s.png files) and N log-density maps, then times
`asdgaze.evaluate.evaluate` with one map folder plus the four default baselines, both conventions
(``--mit-only``: the map folder alone, MIT convention, as before issue 7). As a reference measured in
the same run, it times `score_mit` alone on the same inputs in one process, so the ratio shows the
pipeline's own cost (loading, fixation maps, other-image maps, outputs) and the pool's gain.

    .venv/bin/python benchmarks/bench_evaluate.py              # 300 images
    .venv/bin/python benchmarks/bench_evaluate.py --n-images 40
    .venv/bin/python benchmarks/bench_evaluate.py --ratio      # R: model + default baselines, both conventions,
                                                               # over the model alone, MIT convention (same run)
    .venv/bin/python benchmarks/bench_evaluate.py --ratio --dataset S4A/TrainingDataset --n-images 100
        # the same on a real dataset: smooth synthetic log-density maps are made for its images
    .venv/bin/python benchmarks/bench_evaluate.py --ratio --repeat 3   # three pairs of runs and the median R
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.special import logsumexp


def build(root: Path, n_images: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    h, w = 768, 1024
    data = root / "TrainingDataset" / "TrainingData"
    for sub in ("Images", "ASD", "TD"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    (root / "maps").mkdir()
    yy, xx = np.mgrid[0:h, 0:w]
    blank = Image.new("RGB", (w, h), (128, 128, 128))
    for i in range(1, n_images + 1):
        blank.save(data / "Images" / f"{i}.png", compress_level=1)
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        log_p = -(((yy - cy) / (0.2 * h)) ** 2 + ((xx - cx) / (0.2 * w)) ** 2) / 2
        log_p += 0.3 * rng.standard_normal((h // 32, w // 32)).repeat(32, 0).repeat(32, 1)
        log_p -= logsumexp(log_p)
        np.save(root / "maps" / f"{i}.npy", log_p.astype(np.float32))
        p = np.exp(log_p).ravel()
        for group in ("ASD", "TD"):
            lines = ["Idx, x, y, duration"]
            for viewer in range(14):
                n = int(rng.integers(15, 28))
                idx = rng.choice(p.size, n, p=p / p.sum())
                for k, j in enumerate(idx):
                    lines.append(f"{k}, {j % w + 1}, {j // w + 1}, {int(rng.integers(80, 600))}")
            (data / group / f"{group}_scanpath_{i}.txt").write_text("\n".join(lines) + "\n")
    return root / "TrainingDataset"


def smooth_maps(ds, folder: Path, n_images: int, seed: int = 0) -> list[str]:
    """Smooth log-density maps (a centre Gaussian with low-frequency noise) for the first ``n_images``
    images of a loaded dataset, at each image's own size; returns their stems."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    stems = list(ds.stimuli)[:n_images]
    for stem in stems:
        h, w = ds.stimuli[stem].shape
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        log_p = -(((yy - cy) / (0.2 * h)) ** 2 + ((xx - cx) / (0.2 * w)) ** 2) / 2
        noise = rng.standard_normal((h // 32 + 1, w // 32 + 1)).repeat(32, 0).repeat(32, 1)[:h, :w]
        log_p += 0.3 * noise
        log_p -= logsumexp(log_p)
        np.save(folder / f"{stem}.npy", log_p.astype(np.float32))
    return stems


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the worker processes, once joined)."""
    import resource

    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def ratio(ds, maps: Path, out: Path, workers: int | None, repeat: int = 1) -> None:
    """R = wall time of one model + the default baselines in both conventions over the wall time of the same
    model alone in the MIT convention, measured here one after the other (issue 16's figure); with
    ``repeat`` > 1 the pair is run that many times and the median R is printed too. The CPU seconds of
    each run (this process and its workers) give a second ratio that other work on the machine disturbs
    less than the wall time."""
    import statistics

    from asdgaze.evaluate import EvaluateOptions, evaluate

    from asdgaze.models.registry import default_baselines

    alone = EvaluateOptions(maps_kind="log-density", conventions=("mit",))
    full = EvaluateOptions(maps_kind="log-density", baselines=default_baselines(ds.groups))
    rs, rs_cpu = [], []
    for k in range(repeat):
        times, cpu = {}, {}
        for label, opts in (("alone", alone), ("full", full)):
            t0, c0 = time.perf_counter(), _cpu_seconds()
            evaluate(ds, maps, out / f"{label}-{k}", opts, workers=workers, progress=False)
            times[label], cpu[label] = time.perf_counter() - t0, _cpu_seconds() - c0
        print(f"model alone, MIT convention: {times['alone']:.1f} s ({cpu['alone']:.1f} CPU s); model + default "
              f"baselines ({', '.join(full.baselines)}), both conventions: {times['full']:.1f} s "
              f"({cpu['full']:.1f} CPU s); load average {os.getloadavg()[0]:.2f}")
        rs.append(times["full"] / times["alone"])
        rs_cpu.append(cpu["full"] / cpu["alone"])
        print(f"R = {rs[-1]:.2f} (CPU seconds: {rs_cpu[-1]:.2f})")
    if repeat > 1:
        print(f"median of {repeat}: R = {statistics.median(rs):.2f} (CPU seconds: {statistics.median(rs_cpu):.2f})")


def time_pysaliency(ds, maps: Path, tmp: Path, n: int, python: str) -> dict | None:
    """pysaliency on LL, IG, AUC, sAUC, NSS of the first ``n`` images, and ours on the same work."""
    import json
    import subprocess

    from asdgaze.evaluate.score import other_fixations  # noqa: F401  (same negatives rule, per group)
    from asdgaze.metrics.prob_scoring import score_probabilistic, shuffled_negatives
    from asdgaze.predictions import LogDensity

    stems = list(ds.stimuli)[:n]
    xs, ys, ns, gs = [], [], [], []
    for k, stem in enumerate(stems):
        for g in ds.groups:
            f = ds.fixations_for(g, stem)
            xs.append(f.x); ys.append(f.y); ns.append(np.full(len(f), k)); gs.append(np.full(len(f), g))
    np.savez(tmp / "pysal.npz", files=np.array([str(ds.stimuli[s].path) for s in stems]),
             maps=np.array([str(maps / f"{s}.npy") for s in stems]), x=np.concatenate(xs), y=np.concatenate(ys),
             n=np.concatenate(ns), group=np.concatenate(gs))
    # ours, same work: the same five metrics on p itself (pysaliency's DensitySaliencyMapModel), one process
    t0 = time.perf_counter()
    for k, stem in enumerate(stems):
        ld = LogDensity.normalized(np.load(maps / f"{stem}.npy"))
        for g in ds.groups:
            f = ds.fixations_for(g, stem)
            others = [(ds.fixations_for(g, o).x, ds.fixations_for(g, o).y, ds.stimuli[o].shape)
                      for o in stems if o != stem]
            ox, oy = shuffled_negatives(others, ld.shape)
            score_probabilistic(ld, f.x, f.y, other_xs=ox, other_ys=oy, mode="density",
                                metrics=("ll", "ig", "auc", "sauc", "nss"))
    ours = time.perf_counter() - t0
    if not Path(python).is_file():
        print(f"pysaliency: {python} not found (make .venv-pysal/.installed); comparison skipped")
        return None
    r = subprocess.run([python, str(Path(__file__).with_name("pysal_time.py")), str(tmp / "pysal.npz")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"pysaliency failed: {r.stderr[-2000:]}")
        return None
    pys = json.loads(r.stdout.strip().splitlines()[-1])
    pys["ours"] = ours
    return pys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--mit-only", action="store_true", help="one map folder, MIT convention, no baselines (as before)")
    ap.add_argument("--pysal-images", type=int, default=30, help="images for the pysaliency comparison (0: none)")
    ap.add_argument("--no-reference", action="store_true", help="skip the score_mit-alone reference")
    ap.add_argument("--ratio", action="store_true", help="print R (see ratio()) instead of the timings below")
    ap.add_argument("--dataset", help="with --ratio: a dataset folder to use instead of the synthetic one")
    ap.add_argument("--repeat", type=int, default=1, help="with --ratio: measure R this many times (and the median)")
    args = ap.parse_args()
    if args.ratio:
        from asdgaze.data import load_dataset

        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        with tempfile.TemporaryDirectory() as tmp:
            if args.dataset:
                ds = load_dataset(args.dataset)
                stems = smooth_maps(ds, Path(tmp) / "maps", args.n_images)
                from dataclasses import replace

                keep = set(stems)
                ds = replace(ds, stimuli={s: st for s, st in ds.stimuli.items() if s in keep},
                             fixations={g: {s: f for s, f in fx.items() if s in keep} for g, fx in ds.fixations.items()},
                             fixation_maps={g: {s: f for s, f in m.items() if s in keep}
                                            for g, m in ds.fixation_maps.items()})
            else:
                ds = load_dataset(build(Path(tmp), args.n_images))
            print(f"{len(ds.stimuli)} images, groups {', '.join(ds.groups)}")
            maps = Path(tmp) / "maps"
            ratio(ds, maps, Path(tmp), args.workers, args.repeat)
        return

    import json

    from asdgaze.data import load_dataset
    from asdgaze.data.fixmaps import continuous_map, other_fixation_map
    from asdgaze.evaluate import EvaluateOptions, evaluate
    from asdgaze.models.registry import default_baselines
    from asdgaze.maps.io import load_map
    from asdgaze.metrics.streams import metric_rng
    from asdgaze.metrics.suite import Target, score_mit
    from asdgaze.models.baselines import gaussian_center_log_density

    root = Path(__file__).resolve().parents[1]
    pysal_python = os.environ.get("PYSALIENCY_PYTHON", str(root / ".venv-pysal" / "bin" / "python"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ds_path = build(Path(tmp), args.n_images)
        print(f"built {args.n_images} images x 2 groups in {time.perf_counter() - t0:.1f} s")
        ds = load_dataset(ds_path)
        if args.mit_only:
            opts = EvaluateOptions(maps_kind="log-density", conventions=("mit",))
        else:
            opts = EvaluateOptions(maps_kind="log-density", baselines=default_baselines(ds.groups))

        t0 = time.perf_counter()
        res = evaluate(ds, Path(tmp) / "maps", Path(tmp) / "out", opts, workers=args.workers, progress=False)
        t_eval = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
        timings = json.loads((Path(tmp) / "out" / "manifest.json").read_text())["timings"]

        # Reference: the metric suite alone, one process, inputs prepared outside the timer.
        t_ref = 0.0
        for stem, stim in ([] if args.no_reference else ds.stimuli.items()):
            sal = load_map(Path(tmp) / "maps" / f"{stem}.npy", "log-density")
            targets = {g: Target(ds.fixations[g][stem].binary_map(stim.height, stim.width),
                                 continuous_map(ds, g, stem),
                                 other_fixation_map(ds, g, stem, n_other=10,
                                                    rng=metric_rng(0, stem, g, "other_images")))
                       for g in ("ASD", "TD")}
            base = np.exp(gaussian_center_log_density(stim.height, stim.width))
            t1 = time.perf_counter()
            score_mit(sal, targets, base, seed=0, image_id=stem)
            t_ref += time.perf_counter() - t1
        pys = (time_pysaliency(ds, Path(tmp) / "maps", Path(tmp), min(args.pysal_images, args.n_images), pysal_python)
               if args.pysal_images and not args.mit_only else None)

    n = args.n_images
    print(f"evaluate, end to end ({res.summary.shape[0]} summary rows, "
          f"{len(res.per_image)} scores, {0 if res.per_fixation is None else len(res.per_fixation)} per-fixation "
          f"values): {t_eval:.1f} s wall ({1000 * t_eval / n:.0f} ms/image)")
    print(f"  load average after evaluate: {load_after:.2f}")
    print(f"  plan (shuffled densities in a process pool over images): {', '.join(f'{k} {v:.1f} s' for k, v in timings['plan_s'].items())}")
    print("  scoring, seconds per stage (wall in each worker) summed over workers, per model/convention:")
    for k, v in sorted(timings["model_convention_s"].items(), key=lambda kv: -kv[1]):
        print(f"    {k:32s} {v:7.1f} s ({1000 * v / n:.0f} ms/image)")
    if t_ref:
        print(f"reference: score_mit alone, one process, prepared inputs: {t_ref:.1f} s ({1000 * t_ref / n:.0f} ms/image)")
    if pys:
        k = pys["n_images"]
        tp = sum(pys[m] for m in ("ll", "ig", "auc", "sauc", "nss"))
        print(f"pysaliency on {k} images (LL, IG, AUC, sAUC, NSS, p itself, both groups): {tp:.1f} s "
              f"({', '.join(f'{m} {pys[m]:.1f}' for m in ('ll', 'ig', 'auc', 'sauc', 'nss'))}); "
              f"asdgaze, same work, one process: {pys['ours']:.1f} s; ratio pysaliency / asdgaze: {tp / pys['ours']:.1f}x")


if __name__ == "__main__":
    main()
