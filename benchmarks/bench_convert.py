"""Cost of converting a saliency-map model to a density (issue 18): the conversion's fit and its probabilistic
scoring, over one single-model MIT evaluate of the same maps (the bound is 1x).

Builds ``bench_evaluate.py``'s synthetic Saliency4ASD-sized dataset (N images of 768x1024, two groups) and
saves its maps as 8-bit PNG saliency maps, then times, one after the other in this process:

    mit:      evaluate --maps-kind saliency --convention mit                       (the map alone, no baseline)
    convert:  evaluate --maps-kind saliency --convert   (both conventions: MIT + the converted density)

and prints R = (convert - mit) / mit: what the conversion adds, in units of one MIT evaluate. The fit alone
is the manifest's ``timings.plan_s.convert``. Wall and CPU seconds (this process and its workers) are both shown.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_convert.py                 # 300 images
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_convert.py --n-images 60
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_evaluate import _cpu_seconds, build  # noqa: E402


def png_maps(npy: Path, out: Path) -> None:
    """Each log-density map of ``npy`` as an 8-bit PNG of its density (max 255): a saliency map."""
    out.mkdir()
    for f in sorted(npy.glob("*.npy")):
        p = np.exp(np.load(f).astype(np.float64))
        Image.fromarray(np.round(255 * p / p.max()).astype(np.uint8)).save(out / f"{f.stem}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", help="build and write in this folder (kept)")
    args = ap.parse_args()

    from asdgaze.data import load_dataset
    from asdgaze.evaluate import EvaluateOptions, evaluate

    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-convert-"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = load_dataset(build(root, args.n_images))
    png_maps(root / "maps", root / "png")
    print(f"{args.n_images} images of 768x1024 built in {time.perf_counter() - t0:.0f} s")
    runs = {"mit": EvaluateOptions(maps_kind="saliency", conventions=("mit",)),
            "convert": EvaluateOptions(maps_kind="saliency", convert=True)}
    wall, cpu = {}, {}
    for label, opts in runs.items():
        t0, c0 = time.perf_counter(), _cpu_seconds()
        evaluate(ds, {"m": root / "png"}, root / label, opts, workers=args.workers, progress=False)
        wall[label], cpu[label] = time.perf_counter() - t0, _cpu_seconds() - c0
        print(f"{label}: {wall[label]:.1f} s ({cpu[label]:.1f} CPU s)")
    timings = json.loads((root / "convert" / "manifest.json").read_text())["timings"]
    fit = timings["plan_s"].get("convert", float("nan"))
    r = (wall["convert"] - wall["mit"]) / wall["mit"]
    r_cpu = (cpu["convert"] - cpu["mit"]) / cpu["mit"]
    prob = timings["model_convention_s"].get("m/probabilistic", float("nan"))
    print(f"conversion fit {fit:.1f} s; probabilistic scoring {prob:.1f} CPU s (summed over the workers); "
          f"conversion fit + probabilistic scoring {wall['convert'] - wall['mit']:.1f} s")
    print(f"R = {r:.2f} single-model MIT evaluates (CPU seconds: {r_cpu:.2f}); load average "
          f"{os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
