"""A real results folder: today's evaluate on the bundled demo data, centre-bias and uniform maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdgaze.data import load_demo
from asdgaze.evaluate import EvaluateOptions, evaluate
from asdgaze.maps.io import save_npy
from asdgaze.models.baselines import gaussian_center_log_density, uniform_log_density


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    ds = load_demo()
    for name, model in (("centre-bias", gaussian_center_log_density), ("uniform", uniform_log_density)):
        maps = root / name / "maps"
        maps.mkdir(parents=True)
        for stem, stim in ds.stimuli.items():
            save_npy(maps / f"{stem}.npy", model(stim.height, stim.width).astype(np.float32))
        evaluate(ds, maps, root / name / "scores", EvaluateOptions(maps_kind="log-density"), workers=1,
                 progress=False)
    # What the scoring step will supply for the permutation test: per-fixation NSS values
    # (the z-scored map at each fixated pixel) of the centre-bias model.
    rows = []
    for stem, stim in ds.stimuli.items():
        sal = np.exp(gaussian_center_log_density(stim.height, stim.width))
        z = (sal - sal.mean()) / sal.std(ddof=1)
        for group in ds.groups:
            f = ds.fixations_for(group, stem)
            r, c = f.rows_cols()
            rows += [dict(model="centre-bias", convention="mit", metric="nss", image=stem, group=group, viewer=v,
                          value=val) for v, val in zip(f.viewer, z[r, c])]
    pd.DataFrame(rows).to_csv(root / "centre-bias" / "scores" / "per_fixation.csv", index=False)
    return root
