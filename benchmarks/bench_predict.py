"""`asdgaze predict` end to end against the model alone, measured in the same run.

Usage:
    python benchmarks/bench_predict.py                      # GPU: 300 images 768x1024, batch 32
    python benchmarks/bench_predict.py --precision fp32 fast
    python benchmarks/bench_predict.py --device cpu          # CPU: 2 and 8 images 384x512, batch 8
    python benchmarks/bench_predict.py --n 300 --size 768x1024 --batch-size 32 --json out.json

Steps (each precision): (1) the model alone in this process: forward passes on batches already on
the device (after a warm-up), images/s; (2) `asdgaze predict` as a child process on N generated PNG
images (``python -m asdgaze.cli predict``), wall time from outside, start-up included, and the
child's peak RSS; (3) the same on ``--n-small`` images, so that the difference gives predict's
marginal time per image (start-up cancels) and the start-up time
(``wall(n_small) - n_small * marginal``). Printed: end-to-end images/s, its ratio to the model-only
rate, marginal time per image over the model's time per image, start-up seconds.

Without ``--weights`` the seed-0 synthetic checkpoint of tests/reference/deepgaze is built (speed does
not depend on the weight values). The sha256 of the checkpoint is cached (ASDGAZE_HOME is a temp
folder warmed by a first 1-image run, as after any earlier run on a machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "src"))  # this checkout's asdgaze, also in this process (--in-process)


def make_images(folder: Path, n: int, h: int, w: int, seed: int = 0) -> None:
    """Smooth random photos-like PNGs (a coarse pattern upsampled plus noise), written in parallel."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> None:
        rng = np.random.default_rng([seed, i])
        low = rng.uniform(0, 255, (h // 32 + 1, w // 32 + 1, 3))
        img = np.repeat(np.repeat(low, 32, 0), 32, 1)[:h, :w] + rng.normal(0, 12, (h, w, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i}.png", compress_level=1)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, range(n)))


def model_only(weights: Path, device: str, h: int, w: int, batch: int, precision: str, n_images: int) -> float:
    """Images/s of the model alone on batches already on the device (one warm-up batch first)."""
    import torch

    from asdgaze.models.deepgaze import DeepGazeIIE

    model = DeepGazeIIE.from_checkpoint(weights, device=device)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, 3, h, w, generator=g) * 255).round().to(torch.uint8).to(device)
    cb = torch.full((batch, h, w), -float(np.log(h * w)), device=device)
    prec = "fp16" if precision == "fast" else precision

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    model.forward_parts(x, cb, precision=prec)
    sync()
    reps = max(1, -(-n_images // batch))
    t0 = time.perf_counter()
    for _ in range(reps):
        model.forward_parts(x, cb, precision=prec)["output"].cpu()
    sync()
    rate = reps * batch / (time.perf_counter() - t0)
    del model, x, cb
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return rate


def in_process(weights: Path, device: str, images: Path, out: Path, batch: int, precision: str, outputs: str,
               repeats: int, workers: int | None = None) -> list[dict]:
    """predict's time per image over the model's, in one process: the model alone on the decoded
    images, then ``run_predict`` with that model object on the same images (start-up excluded, the
    model warm), then the model alone again; ``repeats`` times. Without the start-up noise of two
    child processes, a difference of a few per cent shows (CPU: see benchmarks/README.md)."""
    import shutil

    import torch

    from asdgaze.models.deepgaze import DeepGazeIIE
    from asdgaze.predict.pipeline import run_predict
    from asdgaze.predict.stages import decode_timed

    model = DeepGazeIIE.from_checkpoint(weights, device=device)
    paths = sorted(images.glob("*.png"))
    decoded = [torch.from_numpy(decode_timed(p)[0].copy()).permute(2, 0, 1)[None] for p in paths]
    h, w = decoded[0].shape[-2:]
    prec = "fp16" if precision == "fast" else precision

    def alone() -> float:
        cb = torch.full((1, h, w), -float(np.log(h * w)), device=device)
        t0 = time.perf_counter()
        for x in decoded:
            model.forward_parts(x, cb, precision=prec)["output"].cpu()
        return (time.perf_counter() - t0) / len(decoded)

    alone()  # warm-up
    rows = []
    for _ in range(repeats):
        a1 = alone()
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        r = run_predict(out, images=images, model=model, device=device, centerbias="uniform", batch_size=batch,
                        precision=precision, outputs=outputs, progress=False, processes=workers)
        p = (time.perf_counter() - t0) / len(paths)
        if not r.ok:
            raise SystemExit(f"predict failed: {r.failures[:3]}")
        a2 = alone()
        rows.append({"model_s_per_image": (a1 + a2) / 2, "predict_s_per_image": p, "ratio": 2 * p / (a1 + a2)})
    return rows


def run_predict_child(images: Path, out: Path, weights: Path, home: Path, device: str, batch: int,
                      precision: str, outputs: str = "npy,png,overlay", workers: int | None = None,
                      src: Path = REPO / "src") -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of one `asdgaze predict` child running the asdgaze in ``src``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
               ASDGAZE_HOME=str(home))
    cmd = [sys.executable, "-m", "asdgaze.cli", "predict", "--images", str(images), "--out", str(out),
           "--weights", str(weights), "--centerbias", "uniform", "--device", device, "--batch-size", str(batch),
           "--precision", precision, "--outputs", outputs, "--no-progress"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    log = out.with_name(out.name + ".log")
    t0 = time.perf_counter()
    with open(log, "wb") as f:  # a file, not a pipe: a chatty child cannot block on a full pipe
        p = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"predict failed ({status}): {log.read_text()[-2000:]}")
    return wall, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


STARTUP_CHILD = r"""
import json, sys, time
t = {}
t0 = time.perf_counter()
import torch
t["import torch"] = time.perf_counter() - t0
from asdgaze.models.deepgaze.model import DeepGazeIIE
from asdgaze.models.deepgaze.checkpoint import load_state_dict_file
import torchvision, efficientnet_pytorch
t["import model code (torchvision, efficientnet_pytorch)"] = time.perf_counter() - t0
dev, weights, h, w, batch, prec = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
gpu = dev.startswith("cuda")
def sync():
    if gpu:
        torch.cuda.synchronize()
if gpu:
    from asdgaze.predict.pipeline import _init_cuda
    _init_cuda(dev)
t["CUDA init, cuDNN and cuBLAS loaded"] = time.perf_counter() - t0
state = load_state_dict_file(weights, mmap=gpu)
t["torch.load" + (" (mmap)" if gpu else "")] = time.perf_counter() - t0
with torch.device("meta"):
    DeepGazeIIE()
t["build on meta (not used)"] = time.perf_counter() - t0
model = DeepGazeIIE.from_state_dict(state, device=dev)
sync()
t["build + assign weights on the device"] = time.perf_counter() - t0
x = (torch.rand(batch, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
cb = torch.full((batch, h, w), -float(torch.log(torch.tensor(float(h * w)))), device=dev)
p = "fp16" if prec == "fast" else prec
model.forward_parts(x, cb, precision=p)["output"].cpu()
t["first batch"] = time.perf_counter() - t0
model.forward_parts(x, cb, precision=p)["output"].cpu()
t["second batch"] = time.perf_counter() - t0
print("STARTUP " + json.dumps(t))
"""


def startup_breakdown(weights: Path, device: str, h: int, w: int, batch: int, precision: str) -> dict:
    """Cumulative seconds of each start-up step in a fresh interpreter (import, CUDA init, load, build, batches)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STARTUP_CHILD, device, str(weights), str(h), str(w), str(batch),
                          precision], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("STARTUP ")]
    if out.returncode != 0 or not line:
        raise SystemExit(f"start-up child failed: {out.stderr[-2000:]}")
    steps = json.loads(line[0][len("STARTUP "):])
    steps["process wall (incl. interpreter start and exit)"] = wall
    return steps


def print_steps(title: str, steps: dict) -> None:
    prev = 0.0
    print(title, flush=True)
    for k, v in steps.items():
        cumulative = not k.startswith("process wall")
        print(f"   {k:55s} {v:7.2f} s" + (f"  (+{v - prev:.2f})" if cumulative else ""), flush=True)
        prev = v if cumulative else prev


def manifest_timeline(out: Path, key: str = "timeline_seconds") -> dict:
    try:
        return json.loads((out / "manifest.json").read_text()).get(key, {})
    except (OSError, ValueError):
        return {}


def figures_row(rate: float, wall: float, wall_s: float, n: int, n_small: int, rss: float, out: Path) -> dict:
    marginal = (wall - wall_s) / (n - n_small)
    e2e = n / wall
    return {"model_images_per_s": rate, "predict_wall_s": wall, "predict_images_per_s": e2e,
            "ratio_e2e_to_model": e2e / rate, "marginal_s_per_image": marginal,
            "marginal_over_model_time": marginal * rate, "startup_s": wall_s - n_small * marginal,
            "peak_rss_gib": rss, "predict_timeline_s": manifest_timeline(out),
            "predict_busy_s": manifest_timeline(out, "busy_seconds")}


def print_row(name: str, row: dict, n: int) -> None:
    rate, wall, marginal = row["model_images_per_s"], row["predict_wall_s"], row["marginal_s_per_image"]
    e2e = row["predict_images_per_s"]
    print(f"[{name}] model alone {rate:.2f} img/s | predict {n} images: {wall:.2f} s wall incl. start-up "
          f"= {e2e:.2f} img/s, {100 * e2e / rate:.0f} % of the model | marginal {marginal * 1000:.1f} ms/img"
          f" = {marginal * rate:.2f}x the model's time per image | start-up {row['startup_s']:.2f} s | "
          f"peak RSS {row['peak_rss_gib']:.2f} GiB | steady state {1 / marginal:.1f} img/s", flush=True)
    tl = row["predict_timeline_s"]
    if tl:
        inside = tl.get("pools_closed", 0.0)
        print(f"   predict timeline (s since run_predict began): "
              + ", ".join(f"{k} {v:.2f}" for k, v in tl.items())
              + f"; before run_predict (interpreter, imports) and after: {wall - inside:.2f} s", flush=True)
    if row["predict_busy_s"]:
        print("   predict busy seconds per step (summed over threads): "
              + ", ".join(f"{k} {v:.2f}" for k, v in row["predict_busy_s"].items()), flush=True)


def print_summary(prec: str, rows: dict[str, list]) -> None:
    """Medians over the repeats; with two versions also the median of their paired ratio."""
    for label, rs in rows.items():
        ratios = sorted(r["marginal_over_model_time"] for r in rs)
        rss = max(r["peak_rss_gib"] for r in rs)
        print(f"[{prec}] {label}: marginal / model time per image, median {float(np.median(ratios)):.3f}x "
              f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}, {len(rs)} runs); end to end, median "
              f"{float(np.median([r['ratio_e2e_to_model'] for r in rs])) * 100:.0f} % of the model; "
              f"largest peak RSS {rss:.2f} GiB", flush=True)
    if len(rows) == 2:
        this, other = rows["this"], rows["compared"]
        paired = [a["marginal_s_per_image"] / b["marginal_s_per_image"] for a, b in zip(this, other)]
        print(f"[{prec}] marginal time per image, this / compared: median {float(np.median(paired)):.3f} "
              f"(each repeat: {', '.join(f'{p:.3f}' for p in paired)})", flush=True)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n", type=int, default=None, help="images (GPU default 300, CPU 8)")
    ap.add_argument("--n-small", type=int, default=None, help="images of the short run (GPU default 32, CPU 2)")
    ap.add_argument("--size", default=None, help="HxW (GPU default 768x1024, CPU 384x512)")
    ap.add_argument("--batch-size", type=int, default=None, help="GPU default 32, CPU 8")
    ap.add_argument("--precision", nargs="+", default=["fp32"])
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--outputs", default="npy,png,overlay", help="predict's --outputs")
    ap.add_argument("--workers", type=int, help="predict's --workers (default: predict's own)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure the model alone and both predict runs this many times, alternating; the "
                         "summary gives medians (the CPU figures move by 10 %% between runs on a shared machine)")
    ap.add_argument("--compare-src", type=Path, metavar="DIR",
                    help="also run predict from another checkout's src folder, in turn with this one in each "
                         "repeat (an A/B of two versions under the same conditions)")
    ap.add_argument("--in-process", type=int, default=0, metavar="R",
                    help="CPU: also time run_predict in this process with the model passed in, R times, each "
                         "between two runs of the model alone (predict / model time per image, start-up excluded)")
    ap.add_argument("--startup", action="store_true",
                    help="also time the start-up steps (import / CUDA init / load / build / first batch)")
    args = ap.parse_args()

    dev = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    gpu = dev.startswith("cuda")
    if args.repeat < 1 or args.in_process < 0:
        raise SystemExit("--repeat takes a whole number >= 1, --in-process one >= 0")
    if args.compare_src and not (args.compare_src / "asdgaze" / "__init__.py").is_file():
        # else the child would import this checkout's asdgaze (an editable install) and compare it with itself
        raise SystemExit(f"--compare-src {args.compare_src}: no asdgaze package there (give the checkout's src folder)")
    if args.in_process and gpu:
        raise SystemExit("--in-process is for CPU runs: with the model already on the GPU, predict would decode "
                         "and write in threads, not in its usual worker processes")
    n = args.n or (300 if gpu else 8)
    n_small = args.n_small or (32 if gpu else 2)
    h, w = (int(v) for v in (args.size or ("768x1024" if gpu else "384x512")).split("x"))
    batch = args.batch_size or (32 if gpu else 8)
    name = torch.cuda.get_device_name(dev) if gpu else f"CPU, {os.cpu_count()} cores"
    print(f"device: {name}; torch {torch.__version__}; {n} and {n_small} images {h}x{w}, batch {batch}, "
          f"outputs {args.outputs}", flush=True)
    figures: dict = {"device": name, "torch": torch.__version__, "n": n, "n_small": n_small, "size": [h, w],
                     "batch": batch, "outputs": args.outputs, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = args.weights
        if weights is None:
            from bench_deepgaze import synthetic_checkpoint

            t0 = time.perf_counter()
            weights = synthetic_checkpoint(tmp / "synth.pth")
            print(f"synthetic checkpoint built in {time.perf_counter() - t0:.1f} s", flush=True)
        t0 = time.perf_counter()
        make_images(tmp / "images", n, h, w)
        make_images(tmp / "small", n_small, h, w)
        print(f"{n + n_small} PNG images written in {time.perf_counter() - t0:.1f} s", flush=True)
        home = tmp / "home"
        make_images(tmp / "one", 1, h, w)
        if args.startup:
            for prec in args.precision:
                steps = startup_breakdown(weights, dev, h, w, batch, prec)
                figures.setdefault("startup", {})[prec] = steps
                print_steps(f"[{prec}] start-up steps, cumulative seconds in a fresh process (batch {batch}):", steps)
        versions = {"this": REPO / "src"}
        if args.compare_src:
            versions["compared"] = args.compare_src.resolve()
            print(f"compared: predict from {versions['compared']} in turn with {versions['this']}", flush=True)
        for label, src in versions.items():  # checkpoint hash cached, files warm, for each version
            run_predict_child(tmp / "one", tmp / f"warm-{label}", weights, home, dev, batch, "fp32", src=src)
        for prec in args.precision:
            if args.in_process:  # before this precision's child runs (for the first precision, in a fresh process)
                ip = in_process(weights, dev, tmp / "images", tmp / f"inproc-{prec}", batch, prec, args.outputs,
                                args.in_process, args.workers)
                figures.setdefault("in_process", {})[prec] = ip
                ratios = [r["ratio"] for r in ip]
                print(f"[{prec}] in one process ({n} images, start-up excluded): predict's time per image / the "
                      f"model's, median {float(np.median(ratios)):.3f}x (each: "
                      + ", ".join(f"{r['predict_s_per_image']:.3f}/{r['model_s_per_image']:.3f} s = {r['ratio']:.3f}x"
                                  for r in ip) + ")", flush=True)
            rows: dict[str, list] = {v: [] for v in versions}
            for rep in range(args.repeat):
                rate = model_only(weights, dev, h, w, batch, prec, min(n, 4 * batch) if gpu else n_small)
                order = list(versions.items())
                for label, src in order if rep % 2 == 0 else order[::-1]:  # alternate who goes first
                    tag = f"{prec}-{label}-{rep}"
                    wall, rss = run_predict_child(tmp / "images", tmp / f"out-{tag}", weights, home, dev, batch,
                                                  prec, args.outputs, args.workers, src)
                    wall_s, _ = run_predict_child(tmp / "small", tmp / f"small-{tag}", weights, home, dev, batch,
                                                  prec, args.outputs, args.workers, src)
                    row = figures_row(rate, wall, wall_s, n, n_small, rss, tmp / f"out-{tag}")
                    rows[label].append(row)
                    name = prec if len(versions) == 1 else f"{prec}, {label}"
                    name += f", repeat {rep + 1}/{args.repeat}" if args.repeat > 1 else ""
                    print_row(name, row, n)
            figures["runs"][prec] = rows["this"][0] if args.repeat == 1 and len(versions) == 1 else rows
            if args.repeat > 1 or len(versions) > 1:
                print_summary(prec, rows)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
