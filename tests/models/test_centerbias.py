"""Centre-bias templates: only log densities are accepted, and the file used is recorded by its sha256.

No torch here: these checks run on a CPU-only install too.
"""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest

from asdgaze.cli import main
from asdgaze.errors import MapError, OptionsError, WeightsError
from asdgaze.models.centerbias import CenterBias, log_density_problem, resolve_centerbias


def _log_density(shape, seed=0) -> np.ndarray:
    """A normalised log density built from positive weights (normalised by hand, not by our code)."""
    w = np.random.default_rng(seed).random(shape) + 0.5
    return np.log(w / w.sum())


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    home = tmp_path / "cache"
    monkeypatch.setenv("ASDGAZE_HOME", str(home))
    return home


def test_saliency_map_file_is_refused_with_what_it_looks_like(tmp_path):
    a = np.random.default_rng(1).random((40, 60))
    np.save(tmp_path / "sal.npy", a)
    total = float(np.sum(a))  # independent of the message's arithmetic
    with pytest.raises(MapError) as e:
        resolve_centerbias(tmp_path / "sal.npy")
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'sal.npy'}: values in [0, 1] summing to {total:.4g}")
    assert "looks like a saliency map, not a log density" in msg


@pytest.mark.parametrize("array,expected", [
    (np.full((4, 4), 1 / 16), "summing to 1: this looks like a probability map"),
    (np.full((4, 4), 3.0), "values in [3, 3], none negative"),
    (np.log(np.full((4, 4), 1 / 16)) + 2.5, "logsumexp is 2.5, not 0"),
    (np.zeros((2, 3, 4)), "shape (2, 3, 4)"),
    (np.array([[0.0, np.nan], [-np.inf, 0.0]]), "1 NaN and 1 infinite values out of 4"),
    (np.array([["a", "b"]]), "<U1 values"),
])
def test_log_density_problems_are_named(array, expected):
    assert expected in log_density_problem(array)


def test_a_log_density_within_1e3_is_accepted():
    ld = _log_density((5, 7))
    assert log_density_problem(ld) is None
    assert log_density_problem(ld + 0.9e-3) is None
    assert "logsumexp is 0.0011" in log_density_problem(ld + 1.1e-3)


def test_file_centerbias_records_the_sha256_of_the_bytes_used(tmp_path):
    p = tmp_path / "cb.npy"
    ld = _log_density((30, 40))
    np.save(p, ld)
    sha = _sha(p)
    cb = resolve_centerbias(p)
    np.save(p, _log_density((30, 40), seed=5))  # the file changes after it was read
    assert cb.describe() == {"kind": "file", "path": str(p), "sha256": sha}
    # log density at the template's own size: the template itself (already normalised)
    np.testing.assert_allclose(cb.log_density(30, 40), ld, atol=1e-12)


def test_pickled_npy_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = tmp_path / "evil.npy"
    np.save(p, np.array([Payload()], dtype=object), allow_pickle=True)
    (tmp_path / "plain.npy").write_bytes(pickle.dumps([1.0, 2.0]))
    for f in (p, tmp_path / "plain.npy"):
        with pytest.raises(MapError) as e:
            resolve_centerbias(f)
        assert str(e.value) == f"{f}: not a NumPy .npy file holding an array of numbers (expected a 2-D float log density)"
        assert "pickle" not in str(e.value).removeprefix(str(f))
    assert not marker.exists()


def test_names_are_the_ig_baseline_names(tmp_path):
    # gaussian: the fixed centre Gaussian, sigma = 1/4 of each side (hand formula for 2x4, as in test_baselines)
    ry = np.array([-0.5, 0.5]) / 0.5
    cx = np.array([-1.5, -0.5, 0.5, 1.5]) / 1.0
    p = np.exp(-0.5 * (ry[:, None] ** 2 + cx[None, :] ** 2))
    g = resolve_centerbias("gaussian")
    np.testing.assert_allclose(np.exp(g.log_density(2, 4)), p / p.sum(), rtol=1e-13)
    assert g.describe() == {"kind": "gaussian", "sigma_fraction": 0.25}
    np.testing.assert_allclose(resolve_centerbias("uniform").log_density(3, 5), np.log(1 / 15), atol=1e-15)
    with pytest.raises(OptionsError, match="'center' is none of uniform, gaussian, mit1003 and not a .npy file"):
        resolve_centerbias("center")
    with pytest.raises(MapError, match="nope.npy: centre-bias file does not exist"):
        resolve_centerbias(tmp_path / "nope.npy")
    assert resolve_centerbias(g) is g


def test_weights_import_refuses_a_random_npy_as_the_mit1003_template(tmp_path, cache, capsys):
    np.save(tmp_path / "r.npy", np.random.default_rng(0).random((100, 100)))
    assert main(["weights", "import", str(tmp_path / "r.npy")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'r.npy'}: a 100x100 float64 array" in err and "1024x1024 float64 log density" in err
    assert not (cache / "centerbias_mit1003.npy").exists()
    # the right shape but not a log density: refused by content
    np.save(tmp_path / "s.npy", np.random.default_rng(0).random((1024, 1024)))
    assert main(["weights", "import", str(tmp_path / "s.npy")]) == 1
    assert "looks like a saliency map" in capsys.readouterr().err
    assert not (cache / "centerbias_mit1003.npy").exists()


def test_weights_import_of_the_template_records_its_sha256(tmp_path, cache, capsys):
    src = tmp_path / "centerbias_mit1003.npy"
    np.save(src, _log_density((1024, 1024)))
    assert main(["weights", "import", str(src)]) == 0
    sha = _sha(src)
    assert f"(sha256 {sha})" in capsys.readouterr().out
    cb = resolve_centerbias("mit1003")
    assert cb.kind == "mit1003" and cb.describe()["sha256"] == sha
    assert main(["weights", "status"]) == 0
    assert f"centerbias_mit1003.npy: present, sha256 {sha}" in capsys.readouterr().out


def test_a_wrong_template_already_in_the_cache_is_refused(cache):
    cache.mkdir()
    np.save(cache / "centerbias_mit1003.npy", _log_density((100, 100)))  # e.g. installed by an old version
    with pytest.raises(WeightsError, match="a 100x100 float64 array; the MIT1003 centre bias"):
        resolve_centerbias("mit1003")
    np.save(cache / "centerbias_mit1003.npy", _log_density((1024, 1024)).astype(np.float32))
    with pytest.raises(WeightsError, match="a 1024x1024 float32 array"):
        resolve_centerbias("mit1003")


def test_missing_template_names_the_cache_path(cache):
    with pytest.raises(WeightsError) as e:
        resolve_centerbias("mit1003")
    assert str(cache / "centerbias_mit1003.npy") in str(e.value) and "asdgaze weights download" in str(e.value)


def test_describe_hashes_a_file_given_directly(tmp_path):
    p = tmp_path / "t.npy"
    np.save(p, _log_density((3, 3)))
    assert CenterBias("file", str(p), np.load(p)).describe()["sha256"] == _sha(p)
