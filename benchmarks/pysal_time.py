"""Time pysaliency 0.2.22 on LL, IG, AUC, sAUC and NSS for one folder of log-density maps.

Run by bench_evaluate.py in pysaliency's own interpreter (.venv-pysal):
    pysal_time.py DATA.npz  ->  prints JSON {metric: seconds, "n_images": k}
DATA.npz: files (image paths), maps (log-density .npy paths), x, y, n (image index), group.
Images and maps are read lazily, as pysaliency's FileStimuli and a model's _log_density do.
"""

import json
import sys
import time
import types

import numpy as np

_torch = types.ModuleType("torch")  # pysaliency imports torch for DeepGaze only (metrics.md 7 B)
_torch.Tensor = type("Tensor", (), {})
sys.modules.setdefault("torch", _torch)

import pysaliency  # noqa: E402
from pysaliency.datasets import Stimulus  # noqa: E402


class _Folder(pysaliency.Model):
    def __init__(self, by_id):
        super().__init__(caching=False)
        self.by_id = by_id

    def _log_density(self, stimulus):
        return np.load(self.by_id[Stimulus(stimulus).stimulus_id]).astype(np.float64)


def main(src):
    d = np.load(src)
    stimuli = pysaliency.FileStimuli([str(f) for f in d["files"]])
    model = _Folder({sid: str(m) for sid, m in zip(stimuli.stimulus_ids, d["maps"])})
    smap = pysaliency.DensitySaliencyMapModel(model)
    out = {"n_images": len(stimuli)}
    jobs = {
        "ll": lambda f: model.log_likelihoods(stimuli, f),
        "ig": lambda f: model.information_gains(stimuli, f),
        "auc": lambda f: smap.AUCs(stimuli, f, nonfixations="uniform"),
        "sauc": lambda f: smap.sAUCs(stimuli, f),
        "nss": lambda f: smap.NSSs(stimuli, f),
    }
    groups = d["group"]
    for name, fn in jobs.items():
        t = time.perf_counter()
        for g in np.unique(groups):  # one group at a time: sAUC negatives from the same group
            sel = groups == g
            fix = pysaliency.Fixations.create_without_history(d["x"][sel], d["y"][sel], d["n"][sel].astype(int))
            fn(fix)
        out[name] = time.perf_counter() - t
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
