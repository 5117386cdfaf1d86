"""Benchmark of the MIT-convention metrics (asdgaze.metrics.suite.score_mit) against pysaliency.

All nine metrics on synthetic 768x1024 images with ~300 fixations per group and two groups
(ASD, TD), i.e. the Saliency4ASD workload. Prints milliseconds per image per metric (both
groups together), the all-metric total in one process and with a 2-worker process pool, and the
time pysaliency 0.2.22 needs for its nearest equivalents, measured in the same run as a ratio.

pysaliency is NOT installed in the project venv. It runs in a subprocess under a separate
interpreter: $PYSALIENCY_PYTHON, default benchmarks/.venv-pysal/bin/python. Create it with

    python3 -m venv benchmarks/.venv-pysal
    benchmarks/.venv-pysal/bin/pip install pysaliency "numpy<2.4" pandas "setuptools<81"

(torch is replaced by a stub module inside the subprocess; metrics.md section 7 B).

Usage:
    .venv/bin/python benchmarks/bench_metrics.py               # 300 images
    .venv/bin/python benchmarks/bench_metrics.py --n-images 20 # quick run

Synthetic data: a pool of --pool-size distinct images (default 20) is generated once and cycled
over the --n-images image ids (each id gets its own random streams); generating 300 distinct
768x1024 maps would take longer than scoring them and does not change the timings.
"""

from __future__ import annotations

import os

# One BLAS thread per process, so the single-process and the 2-worker figures are comparable and
# the pool does not oversubscribe the 2 cores. Must be set before numpy is imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter, zoom  # noqa: E402

H, W = 768, 1024
GROUPS = ("ASD", "TD")
N_FIX = 300
N_OTHER = 10  # other images whose fixations form the shuffled-AUC other map (MIT: 10)
HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------- synthetic data (numpy + scipy)


def _image(k: int) -> dict:
    """One synthetic image: a DeepGaze-like density, and per group 300 fixations + density C."""
    rng = np.random.default_rng(1000 + k)
    field = zoom(gaussian_filter(rng.standard_normal((48, 64)), 2.5), 16, order=1)
    y, x = np.mgrid[0:H, 0:W]
    centre = -(((y - H / 2) / (H / 4)) ** 2 + ((x - W / 2) / (W / 4)) ** 2) / 2
    logd = 4.0 * field + centre
    dens = np.exp(logd - logd.max())
    dens /= dens.sum()
    out = {"saliency": dens / dens.max()}  # the map fed to every metric, in [0, 1]
    for gi, g in enumerate(GROUPS):
        p = dens ** (0.6 + 0.4 * gi)  # ASD fixations spread more than TD in this toy model
        p = (p / p.sum()).ravel()
        flat = rng.choice(H * W, N_FIX, p=p)
        rows, cols = np.divmod(flat, W)
        f = np.zeros((H, W), bool)
        f[rows, cols] = True
        # Continuous map C: fixations blurred with sigma = 43 px (zero padding), computed at 1/4
        # resolution for speed, then min-max scaled as mat2gray does.
        small = np.zeros((H // 4, W // 4))
        np.add.at(small, (rows // 4, cols // 4), 1.0)
        c = zoom(gaussian_filter(small, 43 / 4, mode="constant"), 4, order=1)
        c = (c - c.min()) / (c.max() - c.min())
        out[g] = {"rows": rows, "cols": cols, "fixation_map": f, "density": c}
    return out


def make_pool(size: int) -> list[dict]:
    pool = [_image(k) for k in range(size)]
    for k, im in enumerate(pool):
        for g in GROUPS:
            others = [pool[(k + j) % size][g] for j in range(1, min(N_OTHER, size - 1) + 1)]
            o = np.zeros((H, W), bool)
            for t in others:
                o[t["rows"], t["cols"]] = True
            im[g]["other_map"] = o
            im[g]["other_rows"] = np.concatenate([t["rows"] for t in others])
            im[g]["other_cols"] = np.concatenate([t["cols"] for t in others])
    return pool


def baseline_map() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return np.exp(-(((y - H / 2) / (H / 4)) ** 2 + ((x - W / 2) / (W / 4)) ** 2) / 2)


# ---------------------------------------------------------------- asdgaze side

_POOL: list[dict] = []
_TARGETS: list[dict] = []
_BASE: np.ndarray | None = None


def _setup_ours(pool_size: int) -> None:
    from asdgaze.metrics.suite import Target

    global _POOL, _TARGETS, _BASE
    _POOL = make_pool(pool_size)
    _TARGETS = [
        {g: Target(im[g]["fixation_map"], im[g]["density"], im[g]["other_map"]) for g in GROUPS}
        for im in _POOL
    ]
    _BASE = baseline_map()


def _score(i: int, metrics: tuple[str, ...] | None = None) -> dict:
    from asdgaze.metrics.suite import MIT_METRICS, score_mit

    k = i % len(_POOL)
    return score_mit(
        _POOL[k]["saliency"], _TARGETS[k], _BASE, metrics=metrics or MIT_METRICS, image_id=i
    )


def _score_chunk(ids: list[int]) -> tuple[list[dict], float]:
    t0 = time.process_time()
    res = [_score(i) for i in ids]
    return res, time.process_time() - t0


def run_ours(n: int, workers: int) -> dict:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from asdgaze.metrics.suite import MIT_METRICS

    _score(0)  # warm caches (resize matrices) before timing
    per_metric = {}
    for m in MIT_METRICS:
        t0 = time.process_time()  # CPU time: less disturbed by other jobs on the machine
        for i in range(n):
            _score(i, (m,))
        per_metric[m] = (time.process_time() - t0) / n * 1e3
    t0, c0 = time.perf_counter(), time.process_time()
    single = [_score(i) for i in range(n)]
    total_single = time.perf_counter() - t0
    single_cpu = time.process_time() - c0

    # Pool over images, as the evaluate command does. fork shares the in-memory pool.
    t0 = time.perf_counter()
    chunks = [list(range(i, min(i + 10, n))) for i in range(0, n, 10)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as ex:
        parts = list(ex.map(_score_chunk, chunks))
    total_pool = time.perf_counter() - t0
    pooled = [r for part, _ in parts for r in part]
    pool_cpu = sum(c for _, c in parts)
    same = all(
        np.array_equal(np.array(list(a[g].values())), np.array(list(b[g].values())), equal_nan=True)
        for a, b in zip(single, pooled)
        for g in GROUPS
    )
    means = {
        g: {m: float(np.nanmean([r[g][m] for r in single])) for m in MIT_METRICS} for g in GROUPS
    }
    return {
        "per_metric_ms": per_metric,
        "total_single_s": total_single,
        "total_pool_s": total_pool,
        "pool_cpu_s": pool_cpu,
        "single_cpu_s": single_cpu,
        "pool_equals_single": same,
        "means": means,
    }


# ---------------------------------------------------------------- pysaliency side (subprocess)

PYSAL_EQUIV = {
    "auc_judd": "AUC_Judd (noise, unfixated negatives, judd thresholds)",
    "auc_borji": "AUC (all-pixel negatives, exact)",
    "auc_shuffled": "sAUC-style general_roc (the same 10 other images' fixations)",
    "nss": "metrics.NSS",
    "cc": "metrics.CC",
    "kl": "metrics.MIT_KLDiv",
    "sim": "metrics.SIM",
}


def pysaliency_worker(n: int, pool_size: int) -> None:
    import types

    torch = types.ModuleType("torch")  # pysaliency imports torch only for its deepgaze module
    torch.Tensor = type("Tensor", (), {})
    sys.modules["torch"] = torch
    import pysaliency.metrics as pm
    from pysaliency.roc import general_roc
    from pysaliency.saliency_map_models import _get_unfixated_values

    pool = make_pool(pool_size)
    rst = np.random.RandomState(42)

    def judd(s, t):
        s = s + rst.randn(*s.shape) * 1e-7  # RandomNoiseSaliencyMapModel
        pos = s[t["rows"], t["cols"]]
        return general_roc(pos, _get_unfixated_values(s, t["rows"], t["cols"]), judd=1)[0]

    funcs = {
        "auc_judd": judd,
        "auc_borji": lambda s, t: general_roc(s[t["rows"], t["cols"]], s.flatten(), judd=0)[0],
        "auc_shuffled": lambda s, t: general_roc(
            s[t["rows"], t["cols"]], s[t["other_rows"], t["other_cols"]], judd=0
        )[0],
        "nss": lambda s, t: pm.NSS(s, t["cols"], t["rows"]).mean(),
        "cc": lambda s, t: pm.CC(s, t["density"]),
        "kl": lambda s, t: pm.MIT_KLDiv(s, t["density"]),
        "sim": lambda s, t: pm.SIM(s, t["density"]),
    }
    for f in funcs.values():  # numba compiles on first call: keep it out of the timing
        f(pool[0]["saliency"], pool[0]["TD"])
    per_metric = {}
    for m, f in funcs.items():
        t0 = time.process_time()
        for i in range(n):
            im = pool[i % pool_size]
            for g in GROUPS:
                f(im["saliency"], im[g])
        per_metric[m] = (time.process_time() - t0) / n * 1e3
    print(json.dumps({"per_metric_ms": per_metric}))


def run_pysaliency(python: str, n: int, pool_size: int) -> dict | None:
    if not Path(python).exists():
        print(
            f"\npysaliency interpreter not found at {python}. Create it with:\n"
            "  python3 -m venv benchmarks/.venv-pysal\n"
            '  benchmarks/.venv-pysal/bin/pip install pysaliency "numpy<2.4" pandas "setuptools<81"\n'
            "or point PYSALIENCY_PYTHON at an interpreter that has pysaliency 0.2.22."
        )
        return None
    cmd = [python, str(Path(__file__).resolve()), "--pysaliency-worker", "--n-images", str(n),
           "--pool-size", str(pool_size)]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    if res.returncode != 0:
        print("\npysaliency subprocess failed:\n" + res.stderr[-3000:])
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--pool-size", type=int, default=20, help="distinct synthetic images, cycled")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-pysaliency", action="store_true")
    ap.add_argument("--pysaliency-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    pool_size = max(2, min(args.pool_size, args.n_images))
    if args.pysaliency_worker:
        pysaliency_worker(args.n_images, pool_size)
        return

    from asdgaze.metrics.suite import MIT_METRICS

    t0 = time.perf_counter()
    _setup_ours(pool_size)
    print(f"machine: {os.cpu_count()} CPUs, load average before the run "
          f"{os.getloadavg()[0]:.2f} (other processes inflate every figure, the pool's most)")
    print(f"synthetic pool: {pool_size} images {H}x{W}, {N_FIX} fixations x {len(GROUPS)} groups "
          f"({time.perf_counter() - t0:.1f} s); scoring {args.n_images} image ids")
    ours = run_ours(args.n_images, args.workers)
    pysal = None
    if not args.no_pysaliency:
        python = os.environ.get("PYSALIENCY_PYTHON", str(HERE / ".venv-pysal" / "bin" / "python"))
        pysal = run_pysaliency(python, args.n_images, pool_size)

    print(f"\nCPU ms per image (both groups), score_mit(metrics=(m,)), {args.n_images} images:")
    print(f"{'metric':14s}{'asdgaze':>10s}{'pysaliency':>12s}{'ratio':>8s}  pysaliency equivalent")
    common_ours = common_pys = 0.0
    for m in MIT_METRICS:
        o = ours["per_metric_ms"][m]
        p = pysal["per_metric_ms"].get(m) if pysal else None
        if p is None:
            print(f"{m:14s}{o:10.1f}{'n/a':>12s}{'':>8s}  {'none' if pysal else ''}")
        else:
            common_ours += o
            common_pys += p
            print(f"{m:14s}{o:10.1f}{p:12.1f}{p / o:7.2f}x  {PYSAL_EQUIV[m]}")
    n = args.n_images
    print(f"\nall nine metrics, one process : {ours['total_single_s']:.1f} s wall, "
          f"{ours['single_cpu_s']:.1f} s CPU ({ours['total_single_s'] / n * 1e3:.0f} ms/image)")
    print(f"all nine metrics, {args.workers}-worker pool: {ours['total_pool_s']:.1f} s wall, "
          f"{ours['pool_cpu_s']:.1f} s CPU in the workers "
          f"(result identical to one process: {ours['pool_equals_single']})")
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")
    if pysal:
        print(f"metrics with a pysaliency equivalent: asdgaze {common_ours:.1f} ms/image, "
              f"pysaliency {common_pys:.1f} ms/image, ratio {common_pys / common_ours:.2f}x")
    print("\nmean scores (sanity):", json.dumps(ours["means"], indent=None))


if __name__ == "__main__":
    main()
