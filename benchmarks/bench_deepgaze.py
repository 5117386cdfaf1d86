"""DeepGaze IIE speed: seconds per image and peak RSS at 768x1024 (CPU), images/s on a GPU.

Usage: python benchmarks/bench_deepgaze.py [--weights PATH] [--repeats N] [--size HxW] [--no-gpu]

Without --weights it builds the seed-0 synthetic checkpoint from tests/reference/deepgaze (speed does not
depend on the weight values). Each CPU mode runs in its own child process, so "peak RSS" is that
mode's whole process (torch import + weights + forward). The in-run reference is ``reference=True``
(the literal per-component computation, which is also what the published implementation does);
the published implementation itself was measured at about 3 s per image on this kind of 2-core
machine (docs/specs/deepgaze.md §8), which we quote but cannot rerun here.

GPU (when CUDA is available): images/s for fp32 (TF32 off, exact) and bf16 (backbones only) at
batch 1 and 8, and the max |Δ log density| of bf16 against fp32. Otherwise prints "no GPU".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SYNTH = REPO / "tests" / "reference" / "deepgaze"


def synthetic_checkpoint(dest: Path) -> Path:
    import torch

    spec = importlib.util.spec_from_file_location("synth_checkpoint", SYNTH / "synth_checkpoint.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    keys = json.loads((SYNTH / "manifest.json").read_text())["keys"]
    torch.save(synth.synth_state_dict(keys, seed=0), dest)
    return dest


def test_images(n: int, h: int, w: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    # smooth-ish random images (a low-resolution pattern upsampled) so the maps are not flat
    low = torch.rand(n, 3, h // 16, w // 16, generator=g) * 255
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear").round().clamp(0, 255)


def child(args) -> None:
    """One CPU mode in this process; prints one JSON line."""
    import torch

    from asdgaze.models.deepgaze import DeepGazeIIE

    h, w = args.size
    t0 = time.perf_counter()
    model = DeepGazeIIE.from_checkpoint(args.weights, reference=args.mode == "reference",
                                        precision="bf16" if args.mode == "bf16" else "fp32")
    load = time.perf_counter() - t0
    x = test_images(1, h, w)
    cb = torch.zeros(1, h, w)
    out = model(x, cb)  # warm-up (oneDNN primitive creation)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        out = model(x, cb)
        times.append(time.perf_counter() - t)
    if args.save_output:
        torch.save(out, args.save_output)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB -> GiB
    print(json.dumps({"mode": args.mode, "median_s": statistics.median(times), "min_s": min(times),
                      "times": [round(t, 3) for t in times], "load_s": load, "peak_rss_gib": peak,
                      "threads": torch.get_num_threads()}))


def run_cpu(weights: Path, repeats: int, size, tmp: Path) -> None:
    import torch

    results, outputs = {}, {}
    for mode in ("default", "reference", "bf16"):
        outputs[mode] = tmp / f"{mode}.pt"
        cmd = [sys.executable, __file__, "--child", mode, "--weights", str(weights), "--repeats", str(repeats),
               "--size", f"{size[0]}x{size[1]}", "--save-output", str(outputs[mode])]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"benchmark child {mode} failed:\n{proc.stderr}")
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    ref = torch.load(outputs["reference"])
    print(f"\nCPU, {size[0]}x{size[1]}, batch 1, {results['default']['threads']} threads, "
          f"median of {repeats} runs after a warm-up:")
    print(f"{'mode':<22}{'s/image':>9}{'min':>8}{'peak RSS':>10}{'vs reference':>14}{'max|Δ| vs ref':>15}")
    for mode, label in (("default", "default (fused, fp32)"), ("reference", "reference=True (fp32)"),
                        ("bf16", "default, bf16 backbones")):
        r = results[mode]
        dev = (torch.load(outputs[mode]) - ref).abs().max().item()
        ratio = results["reference"]["median_s"] / r["median_s"]
        print(f"{label:<22}{r['median_s']:>9.3f}{r['min_s']:>8.3f}{r['peak_rss_gib']:>8.2f}GiB"
              f"{ratio:>13.2f}x{dev:>15.2e}")
    print(f"(published implementation, spec.md §8: ~3 s/image on this kind of 2-core VM; "
          f"default here {3.0 / results['default']['median_s']:.1f}x faster than that figure)")
    print("all runs:", {m: r["times"] for m, r in results.items()})


def run_gpu(weights: Path, size) -> None:
    import torch

    if not torch.cuda.is_available():
        print("\nGPU: no GPU (torch.cuda.is_available() is False); GPU figures not measured")
        return
    from asdgaze.models.deepgaze import DeepGazeIIE

    h, w = size
    model = DeepGazeIIE.from_checkpoint(weights, device="cuda")
    print(f"\nGPU: {torch.cuda.get_device_name()}, {h}x{w}; TF32 off in fp32")
    x8 = test_images(8, h, w).cuda()
    cb8 = torch.zeros(8, h, w, device="cuda")
    ref = model.forward_parts(x8, cb8, precision="fp32")["output"]
    for precision in ("fp32", "bf16"):
        for batch in (1, 8):
            x, cb = x8[:batch], cb8[:batch]
            for _ in range(3):
                model.forward_parts(x, cb, precision=precision)
            torch.cuda.synchronize()
            n = 20 if batch == 1 else 10
            t = time.perf_counter()
            for _ in range(n):
                out = model.forward_parts(x, cb, precision=precision)["output"]
            torch.cuda.synchronize()
            dt = (time.perf_counter() - t) / n
            dev = (out - ref[:batch]).abs().max().item()
            print(f"  {precision} batch {batch}: {dt * 1000:7.1f} ms/batch, {batch / dt:7.1f} images/s, "
                  f"max|Δ| vs fp32 batch 8: {dev:.2e}")
    print(f"  peak GPU memory: {torch.cuda.max_memory_allocated() / 1024 ** 3:.2f} GiB")
    print("  (published implementation on an H200, spec.md §8: 467 ms/image at batch 1, 75 ms/image at batch 8)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, help="checkpoint (default: synthetic seed 0 in a temp dir)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--size", default="768x1024", help="HxW")
    p.add_argument("--no-gpu", action="store_true")
    p.add_argument("--no-cpu", action="store_true")
    p.add_argument("--child", dest="mode", help=argparse.SUPPRESS)
    p.add_argument("--save-output", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.mode:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = args.weights or synthetic_checkpoint(tmp / "synth_seed0.pth")
        if not args.no_cpu:
            run_cpu(weights, args.repeats, args.size, tmp)
        if not args.no_gpu:
            run_gpu(weights, args.size)


if __name__ == "__main__":
    main()
