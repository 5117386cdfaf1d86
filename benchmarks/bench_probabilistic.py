"""Per-metric time per image of the probabilistic convention at 768x1024 with 300 fixations.

Run: PYTHONPATH=src python benchmarks/bench_probabilistic.py [--n-images 10]
Figures are CPU ms per image and group (``time.process_time``), BLAS pinned to one thread, the
best of three passes over the images (the dev machine is shared; the minimum is the least noisy).
sAUC gets 299 x 300 negatives (all other images of a Saliency4ASD group).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.ndimage import gaussian_filter
from threadpoolctl import threadpool_limits

from asdgaze.metrics import probabilistic as P
from asdgaze.metrics.prob_scoring import Blur, score_probabilistic
from asdgaze.predictions import LogDensity

H, W, N_FIX, N_OTHER = 768, 1024, 300, 299 * 300


def _case(rng):
    f = gaussian_filter(rng.standard_normal((H // 8, W // 8)), 2.0) * 20
    f = np.kron(f, np.ones((8, 8)))
    ld = LogDensity.normalized(f)
    flat = rng.choice(H * W, size=N_FIX, p=ld.density().ravel())
    x, y = (flat % W).astype(float), (flat // W).astype(float)
    emp = P.gaussian_blur(np.bincount(flat, minlength=H * W).reshape(H, W).astype(float), 43.0, "constant")
    return ld, x, y, emp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-images", type=int, default=10)
    n = ap.parse_args().n_images
    rng = np.random.default_rng(0)
    cases = [_case(rng) for _ in range(n)]
    ox, oy = rng.random(N_OTHER) * W, rng.random(N_OTHER) * H
    base = LogDensity.normalized(-((np.mgrid[0:H, 0:W][0] - H / 2) ** 2 + (np.mgrid[0:H, 0:W][1] - W / 2) ** 2) / 1e5)
    shuffled = base.values
    blur = Blur(43.0, "constant")
    P.gaussian_blur(np.zeros((H, W)), 43.0, "constant")  # build the cached filter matrices once
    jobs = {
        "ll": lambda ld, x, y, e: P.log_likelihoods(ld.values, x, y),
        "ig": lambda ld, x, y, e: P.information_gains(ld.values, base.values, x, y),
        "density exp(log p)": lambda ld, x, y, e: ld.density(),
        "auc (on p)": lambda ld, x, y, e: P.auc_per_fixation(ld.density(), x, y),
        "sauc (log p - log p_shuf)": lambda ld, x, y, e: P.sauc_per_fixation(ld.values - shuffled, x, y, ox, oy),
        "nss (on p)": lambda ld, x, y, e: P.nss_per_fixation(ld.density(), x, y),
        "blur p (sigma 43)": lambda ld, x, y, e: P.gaussian_blur(ld.density(), 43.0, "constant"),
        "cc": lambda ld, x, y, e: P.cc(ld.density(), e),
        "kl": lambda ld, x, y, e: P.kl_div(ld.density(), e),
        "sim": lambda ld, x, y, e: P.sim(ld.density(), e),
        "empirical map (300 fix)": lambda ld, x, y, e: P.empirical_map((H, W), x, y, 43.0, "constant"),
    }
    def both_groups(mode):
        def run(ld, x, y, e):
            # two groups per image; the metric-specific blur depends on the image only: once per image
            pre = P.gaussian_blur(ld.density(), 43.0, "constant") if mode == "metric-specific" else None
            for _ in range(2):
                score_probabilistic(ld, x, y, empirical=e, baseline=base, other_xs=ox, other_ys=oy,
                                    shuffled=shuffled, mode=mode, blur=blur, blurred=pre)
        return run

    jobs["all 8 x 2 groups, density"] = both_groups("density")
    jobs["all 8 x 2 groups, specific"] = both_groups("metric-specific")
    with threadpool_limits(1):
        for name, fn in jobs.items():
            best = math.inf
            for _ in range(3):
                t = time.process_time()
                for ld, x, y, e in cases:
                    fn(ld, x, y, e)
                best = min(best, time.process_time() - t)
            print(f"{name:28s} {1e3 * best / n:7.1f} ms/image")

if __name__ == "__main__":
    main()
