"""The shuffled-density plan in a process pool gives the sums of the one-process plan, bit for bit,
and of the plain definition (the sum of every image's density on the grid)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from asdgaze.data import load_demo
from asdgaze.evaluate.scored import Scored
from asdgaze.evaluate.shuffled import SHUFFLED_GRID, Shuffled
from asdgaze.maps.io import save_npy
from asdgaze.models import registry
from asdgaze.models.maps import open_maps
from asdgaze.predictions import resize_density as _resize_density


def test_plan_pool_equals_threads_and_the_definition(tmp_path):
    ds = load_demo()
    rng = np.random.default_rng(0)
    maps = {}
    for stem, st in ds.stimuli.items():
        lp = rng.standard_normal(st.shape)
        lp -= logsumexp(lp)
        save_npy(tmp_path / f"{stem}.npy", lp.astype(np.float32))
        maps[stem] = tmp_path / f"{stem}.npy"
    groups = tuple(ds.groups)
    fitted = registry.fit(ds, ("uniform", "centerbias", "other-group"), groups)
    models = [Scored("maps", open_maps("maps", tmp_path, ds, "log-density"))]
    models += [Scored(n, p) for n, p in fitted.items()]
    stems = list(ds.stimuli)
    one, two = Shuffled(), Shuffled()
    one.build_all(models, ds, stems, groups, workers=1)
    two.build_all(models, ds, stems, groups, workers=2)
    # own shuffles (uniform, centre bias) need no sum; other-group has one per group
    assert sorted(one.sums, key=str) == sorted([("maps", None)] + [("other-group", g) for g in groups], key=str)
    for key in one.sums:
        assert np.array_equal(one.sums[key].total, two.sums[key].total)
        assert one.added[key] == two.added[key]
    # the definition, written out for the map folder: each density resampled, added in image order
    want = np.zeros(SHUFFLED_GRID)
    for stem in stems:
        lp = np.load(maps[stem]).astype(np.float64)
        want += _resize_density(np.exp(lp - logsumexp(lp)), SHUFFLED_GRID)
    assert np.allclose(one.sums[("maps", None)].total, want, rtol=1e-12, atol=0)
