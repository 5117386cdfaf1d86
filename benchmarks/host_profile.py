"""Where predict's host-side time goes: each step of the pipeline alone, and the model beside it.

Prints images/s for: decoding (1, 4, all threads), the batch feeder path without a model, the
writers (all outputs; npy only), the device->host copy of a batch of maps, and -- with
``--weights`` -- the model's forward alone, beside busy decoder threads, and beside busy writer
threads (the GIL is shared by all of them). Figures are rates measured in the same run.

    PYTHONPATH=src python benchmarks/host_profile.py --n 96 --weights synth.pth
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch  # noqa: F401 - imported before any timing, as in predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_predict import make_images  # noqa: E402

from asdgaze.data.images import load_image  # noqa: E402
from asdgaze.predict import stages as pl  # noqa: E402
from asdgaze.predict.outputs import write_outputs  # noqa: E402


def smooth_log_density(h: int, w: int, seed: int) -> np.ndarray:
    """A photo-like log density (a few Gaussian blobs plus a floor), float32, sums to 1."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    p = np.full((h, w), 1e-3)
    for _ in range(6):
        cy, cx, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(20, 120)
        p += rng.uniform(0.2, 1) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return np.log(p / p.sum()).astype(np.float32)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:7.1f} img/s ({1000 * seconds / n:6.1f} ms/img)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--size", default="768x1024")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    cpus = os.cpu_count() or 1
    fig: dict = {"cpus": cpus, "n": args.n, "size": [h, w]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_images(tmp / "img", args.n, h, w)
        paths = sorted((tmp / "img").glob("*.png"))
        for p in paths:
            p.read_bytes()  # page cache warm, as for the second pass of a real run
        for threads in sorted({1, 4, min(16, cpus)}):
            with ThreadPoolExecutor(threads) as ex:
                t0 = time.perf_counter()
                list(ex.map(load_image, paths))
                dt = time.perf_counter() - t0
            fig[f"decode_{threads}_threads"] = args.n / dt
            print(f"decode, {threads:2d} threads:                 {rate(args.n, dt)}", flush=True)
        # the feeder path as predict runs it on a GPU host, without a model
        n_dec = min(16, cpus)
        dev = "cuda" if args.device == "auto" and _cuda() else ("cpu" if args.device == "auto" else args.device)
        with ThreadPoolExecutor(n_dec) as dec:
            t0 = time.perf_counter()
            decoded = pl.start_decoding(dec, [(p.stem, p) for p in paths], args.batch + n_dec)
            feeder = pl.BatchFeeder(pl.equal_size_batches(decoded, args.batch, args.batch + n_dec), dev, depth=2)
            k = sum(len(b) for b, _, _ in feeder)
            dt = time.perf_counter() - t0
            feeder.close()
        fig["feeder"] = k / dt
        print(f"decode + batches ({dev} pinned={dev.startswith('cuda')}), {n_dec} threads: {rate(k, dt)}", flush=True)
        image = load_image(paths[0])
        maps = [smooth_log_density(h, w, i) for i in range(8)]
        outs_all = ("npy", "png", "overlay")
        with ThreadPoolExecutor(min(16, cpus)) as ex:
            t0 = time.perf_counter()
            list(ex.map(lambda i: write_outputs(tmp / "out", f"{i}", image, maps[i % 8], outs_all), range(args.n)))
            dt = time.perf_counter() - t0
        fig["write_threads"] = args.n / dt
        print(f"write npy,png,overlay, {min(16, cpus)} threads:    {rate(args.n, dt)}", flush=True)
        n_proc = max(2, cpus - 1)
        procs = pl.start_process_pool(n_proc)
        list(procs.map(abs, range(4 * n_proc)))  # started
        t0 = time.perf_counter()
        list(procs.map(pl.decode_timed, paths))
        dt = time.perf_counter() - t0
        fig["decode_processes"] = args.n / dt
        print(f"decode, {n_proc} processes:              {rate(args.n, dt)}", flush=True)
        for outs in (outs_all, ("npy",)):
            t0 = time.perf_counter()
            futs = [procs.submit(pl.write_timed, write_outputs, (tmp / "out", f"{i}", image, maps[i % 8], outs))
                    for i in range(args.n)]
            [f.result() for f in futs]
            dt = time.perf_counter() - t0
            fig["write_processes_" + "+".join(outs)] = args.n / dt
            print(f"write {','.join(outs):16s} {n_proc} processes: {rate(args.n, dt)}", flush=True)
        if dev.startswith("cuda"):
            _device_steps(args, dev, h, w, paths, image, maps, fig, procs)
        procs.shutdown()
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _device_steps(args, dev: str, h: int, w: int, paths, image, maps, fig: dict, procs) -> None:
    import torch

    b = args.batch
    out = torch.randn(b, 1, h, w, device=dev)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(3):
        out[:, 0].float().cpu().numpy()
    dt = (time.perf_counter() - t0) / 3
    fig["d2h_pageable_ms_per_batch"] = 1000 * dt
    pinned = torch.empty((b, h, w), dtype=torch.float32, pin_memory=True)
    t0 = time.perf_counter()
    for _ in range(3):
        pinned.copy_(out[:, 0])
    dt2 = (time.perf_counter() - t0) / 3
    fig["d2h_pinned_ms_per_batch"] = 1000 * dt2
    print(f"device->host copy of {b} maps: pageable {1000 * dt:.1f} ms, pinned {1000 * dt2:.1f} ms", flush=True)
    if args.weights is None:
        return
    from asdgaze.models.deepgaze.model import DeepGazeIIE

    model = DeepGazeIIE.from_checkpoint(args.weights, device=dev)
    x = torch.from_numpy(np.stack([image] * b)).permute(0, 3, 1, 2).to(dev)
    cb = torch.full((b, h, w), -float(np.log(h * w)), device=dev)

    def forward(reps: int = 3) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            model.forward_parts(x, cb, precision="fp32")["output"].cpu()
        return b * reps / (time.perf_counter() - t0)

    forward(1)
    fig["model_alone"] = forward()
    print(f"model alone:                          {fig['model_alone']:7.1f} img/s", flush=True)
    stop = threading.Event()

    def busy(fn) -> list[threading.Thread]:
        def loop() -> None:
            i = 0
            while not stop.is_set():
                fn(i)
                i += 1
        ths = [threading.Thread(target=loop, daemon=True) for _ in range(min(16, os.cpu_count() or 1))]
        for t in ths:
            t.start()
        return ths

    graphed = None
    try:
        graphed = _graph_forward(model, x, cb)
        ref = model.forward_parts(x, cb, precision="fp32")["output"]
        diff = float((graphed() - ref).abs().max())
        fig["graph_max_abs_diff"] = diff
        fig["graph_alone"] = _rate(graphed, b)
        print(f"backbones as a CUDA graph: {fig['graph_alone']:7.1f} img/s alone, max |diff| vs eager {diff:.3g}",
              flush=True)
    except Exception as e:  # noqa: BLE001 - an experiment: report and go on
        print(f"CUDA graph experiment failed: {type(e).__name__}: {e}", flush=True)
        graphed = None
    outdir = Path(tempfile.mkdtemp())
    for name, fn in (("decoders", lambda i: load_image(paths[i % len(paths)])),
                     ("writers", lambda i: write_outputs(outdir, f"{i % 50}", image, maps[i % 8])),
                     ("writers npy", lambda i: write_outputs(outdir, f"{i % 50}", image, maps[i % 8], ("npy",)))):
        ths = busy(fn)
        time.sleep(0.3)
        r = forward()
        rg = _rate(graphed, b) if graphed is not None else float("nan")
        stop.set()
        for t in ths:
            t.join()
        stop.clear()
        fig[f"model_beside_{name}"] = r
        fig[f"graph_beside_{name}"] = rg
        print(f"model beside 16 busy {name:12s}:     {r:7.1f} img/s (graphed backbones {rg:7.1f})", flush=True)
    # as predict runs now: decoding and writing in worker processes, fed from a thread of this one
    def feed() -> None:
        i = 0
        live: list = []
        while not stop.is_set():
            live = [f for f in live if not f.done()]
            if len(live) < 2 * procs._max_workers:
                live.append(procs.submit(pl.decode_timed, paths[i % len(paths)]))
                live.append(procs.submit(pl.write_timed, write_outputs, (outdir, f"{i % 50}", image, maps[i % 8])))
                i += 1
            else:
                time.sleep(0.001)
        for f in live:
            f.result()
    th = threading.Thread(target=feed, daemon=True)
    th.start()
    time.sleep(0.5)
    r = forward()
    stop.set()
    th.join()
    fig["model_beside_busy_processes"] = r
    print(f"model beside busy worker processes (decode + write, fed from a thread): {r:7.1f} img/s", flush=True)


def _rate(fn, b: int, reps: int = 3) -> float:
    import torch

    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn().cpu()
    return b * reps / (time.perf_counter() - t0)


def _graph_forward(model, x, cb):
    """fp32 forward with the four backbones replayed from one captured CUDA graph, heads eager."""
    import math

    import torch

    from asdgaze.models.deepgaze.fused import half_res_counts, upsample_full
    from asdgaze.models.deepgaze.model import check_image_tensor, log_mean_exp, no_tf32
    from asdgaze.models.deepgaze.readout import downscale_half

    h, w = x.shape[-2:]
    grid = (math.ceil(h / 32), math.ceil(w / 32))
    static_x = x.clone()

    def backbones():
        x_half = downscale_half(check_image_tensor(static_x))
        return [m.readout_input(x_half, grid, "fp32") for m in model.models]

    with torch.inference_mode(), no_tf32(False):  # exact fp32, as predict's default (kernels chosen at capture)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                backbones()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            readouts = backbones()
        cb_half = downscale_half(cb)
        rows, cols = half_res_counts(h, w, x.device)

    @torch.inference_mode()
    @no_tf32(False)
    def run():
        static_x.copy_(x)
        graph.replay()
        half = [hd.log_density_half(hd.readout(r), cb_half, rows, cols) for hd, r in zip(model.fused_heads(), readouts)]
        return upsample_full(log_mean_exp(torch.stack(half), 0), h, w)[:, None]

    return run


if __name__ == "__main__":
    main()
