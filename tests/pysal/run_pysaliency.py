"""Oracle runner: executed by the pysaliency 0.2.22 interpreter (.venv-pysal), never by asdgaze.

Usage: run_pysaliency.py IN.npz OUT.json

IN.npz holds, for k = 0..K-1: ``logdens_<k>`` (H_k, W_k) natural-log densities, ``image_<k>``
(H_k, W_k, 3) uint8 stimuli (distinct, so their ids differ), ``baseline_<k>`` log-densities, and
``x``, ``y``, ``n`` 0-based fixations, plus ``sigma`` (empirical-map blur, mode 'reflect').
OUT.json gets pysaliency's own per-fixation and per-image values, through its model methods.
"""

import json
import sys
import types

import numpy as np

# pysaliency imports torch for its DeepGaze module; a stub is enough for the metrics
# (metrics.md section 7 B). scipy's array-API check looks for torch.Tensor.
_torch = types.ModuleType("torch")
_torch.Tensor = type("Tensor", (), {})
sys.modules.setdefault("torch", _torch)

import pysaliency  # noqa: E402
from pysaliency.datasets import Stimulus  # noqa: E402


class _Given(pysaliency.Model):
    """A probabilistic model that returns fixed log-densities, looked up by stimulus id."""

    def __init__(self, by_id):
        super().__init__(caching=False)
        self.by_id = by_id

    def _log_density(self, stimulus):
        return self.by_id[Stimulus(stimulus).stimulus_id]


def main(src, dst):
    d = np.load(src)
    k = int(d["n_images"])
    stimuli = pysaliency.Stimuli([d[f"image_{i}"] for i in range(k)])
    ids = stimuli.stimulus_ids
    model = _Given({ids[i]: d[f"logdens_{i}"] for i in range(k)})
    base = _Given({ids[i]: d[f"baseline_{i}"] for i in range(k)})
    fix = pysaliency.Fixations.create_without_history(d["x"], d["y"], d["n"].astype(int))
    smap = pysaliency.DensitySaliencyMapModel(model)  # the saliency map exp(log p)
    emp = pysaliency.FixationMap(stimuli, fix, kernel_size=float(d["sigma"]), convolution_mode="reflect")
    out = {
        "ll": model.log_likelihoods(stimuli, fix).tolist(),
        "ig_uniform": model.information_gains(stimuli, fix).tolist(),
        "ig_baseline": model.information_gains(stimuli, fix, baseline_model=base).tolist(),
        "auc": smap.AUCs(stimuli, fix, nonfixations="uniform").tolist(),
        "sauc": smap.sAUCs(stimuli, fix).tolist(),
        "nss": smap.NSSs(stimuli, fix).tolist(),
        "cc": list(map(float, smap.CCs(stimuli, emp))),
        "kl_mit": [float(pysaliency.metrics.MIT_KLDiv(smap.saliency_map(s), emp.saliency_map(s))) for s in stimuli],
        "sim": list(map(float, smap.SIMs(stimuli, emp))),
    }
    with open(dst, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
