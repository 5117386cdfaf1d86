"""Precision modes judged by their effect on the scores: fp32 (exact), tf32, fp16, bf16.

For each precision, `run_predict` writes the DeepGaze IIE log densities of the demo dataset (8 OSIE
images, real fixations) and of a synthetic Saliency4ASD-layout set (generated images, two groups,
scanpaths), `evaluate` scores them (MIT convention, default options), and the largest change of
every metric against exact fp32 (over images and groups) is printed, with max |Δ log p|.

    python benchmarks/precision_check.py                       # GPU: demo + 32 synthetic 768x1024
    python benchmarks/precision_check.py --device cpu --no-demo --n 2 --size 128x160   # a smoke run

Synthetic weights (seed 0) unless --weights: their maps are not DeepGaze's, so the figures show how
much each mode moves the scores for a network of this architecture, not the published one's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")


def synthetic_dataset(root: Path, n: int, h: int, w: int) -> Path:
    """bench_evaluate's Saliency4ASD-layout set (n images 768x1024) with generated photos at h x w."""
    from bench_evaluate import build
    from bench_predict import make_images
    from PIL import Image

    ds = build(root, n)
    images = ds / "TrainingData" / "Images"
    make_images(root / "gen", n, h, w)
    for i in range(n):
        im = Image.open(root / "gen" / f"{i}.png")
        if (h, w) != (768, 1024):
            im = im.resize((1024, 768))
        im.save(images / f"{i + 1}.png", compress_level=1)
    return ds


def main() -> None:
    import torch

    from asdgaze.data import demo_dataset_path, load_dataset
    from asdgaze.evaluate import EvaluateOptions, evaluate
    from asdgaze.models.deepgaze import DeepGazeIIE
    from asdgaze.predict import run_predict

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n", type=int, default=32, help="synthetic images (768x1024)")
    ap.add_argument("--size", default="768x1024", help="size the synthetic photos are generated at")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    h, w = (int(v) for v in args.size.split("x"))
    table: dict = {"device": torch.cuda.get_device_name(dev) if dev.startswith("cuda") else "CPU", "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = args.weights
        if weights is None:
            from bench_deepgaze import synthetic_checkpoint

            weights = synthetic_checkpoint(tmp / "synth.pth")
        model = DeepGazeIIE.from_checkpoint(weights, device=dev)
        sets = {} if args.no_demo else {"demo (8 OSIE images)": demo_dataset_path()}
        if args.n:
            sets[f"synthetic ({args.n} images 768x1024)"] = synthetic_dataset(tmp / "synthetic", args.n, h, w)
        for set_name, path in sets.items():
            ds = load_dataset(path)
            scores, maps = {}, {}
            for prec in PRECISIONS:
                out = tmp / "runs" / set_name.split()[0] / prec
                t0 = time.perf_counter()
                r = run_predict(out, dataset=path, model=model, centerbias="uniform", device=dev, precision=prec,
                                batch_size=args.batch_size, outputs="npy", progress=False)
                assert r.ok, r.failures
                t_pred = time.perf_counter() - t0
                res = evaluate(ds, out / "maps", out / "scores", EvaluateOptions(maps_kind="log-density"),
                               workers=args.workers, progress=False)
                scores[prec] = res.per_image.set_index(["image", "group", "metric"])["value"].astype(float)
                maps[prec] = {p.stem: np.load(p).astype(np.float64) for p in (out / "maps").glob("*.npy")}
                print(f"{set_name} {prec}: predict {t_pred:.1f} s", flush=True)
            rows = {}
            for prec in PRECISIONS[1:]:
                d = (scores[prec] - scores["fp32"]).abs()
                per_metric = d.groupby(level="metric").max().to_dict()
                dlogp = max(float(np.abs(maps[prec][s] - maps["fp32"][s]).max()) for s in maps["fp32"])
                rows[prec] = {"max_abs_dlogp": dlogp, "max_abs_dmetric": per_metric}
            table["sets"][set_name] = rows
            metrics = sorted(next(iter(rows.values()))["max_abs_dmetric"])
            print(f"\n{set_name}, device {table['device']}: largest |change| against fp32 (MIT convention)")
            print("| precision | max Δlog p | " + " | ".join(metrics) + " |")
            print("|---|---|" + "---|" * len(metrics))
            for prec, row in rows.items():
                print(f"| {prec} | {row['max_abs_dlogp']:.3g} | "
                      + " | ".join(f"{row['max_abs_dmetric'][m]:.2g}" for m in metrics) + " |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
