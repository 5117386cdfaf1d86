"""Architecture: the module tree gives exactly the published checkpoint's keys; strict loading."""

from __future__ import annotations

import hashlib

import pytest
import torch

from asdgaze.models.deepgaze import DeepGazeIIE
from asdgaze.models.deepgaze.weights import WeightsError


@pytest.fixture(scope="module")
def meta_model():
    with torch.device("meta"):
        return DeepGazeIIE()


def test_state_dict_equals_manifest(meta_model, manifest):
    """Names, shapes, dtypes and order equal manifest.json (the published deepgaze2e.pth)."""
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in meta_model.state_dict().items()]
    assert ours == manifest["keys"]
    assert len(ours) == 5461
    assert sum(p.numel() for p in meta_model.parameters()) == manifest["total_params"] == 104_048_808


def test_seed0_state_dict_is_the_reference_checkpoint(state_seed0, reference):
    """The sha256 over (name, raw bytes) documented in README.md / stored with the reference outputs."""
    h = hashlib.sha256()
    for k, v in state_seed0.items():
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    assert h.hexdigest() == reference["checkpoint_sha256_name_bytes"]
    assert h.hexdigest() == "3e725298fa51dc42d3423b35f4adfc1644c1a660e990bd8ea508ff382f1ae90c"


def test_strict_load_from_file(model_seed0, state_seed0):
    loaded = model_seed0.state_dict()
    assert list(loaded) == list(state_seed0)
    for k in ("models.0.features.features.1.module.conv1.weight", "models.3.finalizers.29.gauss.sigma",
              "models.2.features.features.1.features.denseblock4.denselayer32.norm1.running_var"):
        assert torch.equal(loaded[k], state_seed0[k])
    assert not model_seed0.training and not any(m.training for m in model_seed0.modules())


def test_mapped_load_gives_every_tensor_of_the_file(checkpoint_seed0, state_seed0):
    """from_checkpoint(mmap=True), as predict loads for a GPU: the file's tensors, every one."""
    from asdgaze.models.deepgaze import DeepGazeIIE

    loaded = DeepGazeIIE.from_checkpoint(checkpoint_seed0, mmap=True).state_dict()
    assert list(loaded) == list(state_seed0)
    assert all(torch.equal(loaded[k], v) for k, v in state_seed0.items())


def test_strict_load_another_seed(synth, manifest):
    state = synth.synth_state_dict(manifest["keys"], seed=7)
    model = DeepGazeIIE.from_state_dict(state)  # strict=True inside; raises on any mismatch
    key = "models.1.features.features.1._blocks.24._depthwise_conv.weight"
    assert torch.equal(model.state_dict()[key], state[key])
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_wrong_checkpoints_are_refused_with_names(state_seed0):
    missing = dict(state_seed0)
    del missing["models.0.finalizers.0.gauss.sigma"]
    with pytest.raises(WeightsError, match="1 missing .*models.0.finalizers.0.gauss.sigma"):
        DeepGazeIIE.from_state_dict(missing, source="x.pth")
    extra = dict(state_seed0)
    extra["module.extra"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="1 unexpected .*module.extra"):
        DeepGazeIIE.from_state_dict(extra)
    bad = dict(state_seed0)
    bad["models.0.finalizers.0.center_bias_weight"] = torch.zeros(2)
    with pytest.raises(WeightsError, match=r"wrong shape .*center_bias_weight: \(2,\) != \(1,\)"):
        DeepGazeIIE.from_state_dict(bad)


def test_missing_batchnorm_counters_are_filled(state_seed0):
    """Old checkpoints may lack num_batches_tracked (unused in eval); torch's loader fills them too."""
    state = {k: v for k, v in state_seed0.items() if not k.endswith("num_batches_tracked")}
    assert len(state) == len(state_seed0) - 423
    model = DeepGazeIIE.from_state_dict(state)
    assert int(model.state_dict()["models.0.features.features.1.module.bn1.num_batches_tracked"]) == 0


EXPECTED = "(expected deepgaze2e.pth from https://github.com/matthias-k/DeepGaze/releases/download/v1.0.0/deepgaze2e.pth)"
NOT_TENSOR_ONLY = ("not a tensor-only PyTorch checkpoint: it holds pickled Python objects (or is a plain pickle), "
                   "which are never unpickled, as that could run code")


def test_not_a_checkpoint_file(tmp_path):
    p = tmp_path / "w.pth"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError) as e:
        DeepGazeIIE.from_checkpoint(p)
    assert str(e.value) == f"{p}: not a PyTorch state dict of DeepGaze IIE {EXPECTED}"
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match=r"list.pth: not a PyTorch state dict of DeepGaze IIE \(it holds a list"):
        DeepGazeIIE.from_checkpoint(tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="nope.pth: weights file does not exist"):
        DeepGazeIIE.from_checkpoint(tmp_path / "nope.pth")


def test_pickled_objects_in_a_checkpoint_are_never_run(tmp_path):
    """Only tensors are read (torch.load with weights_only=True); the message speaks of the file, not of torch."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = tmp_path / "evil.pth"
    torch.save({"models.0.x": torch.zeros(1), "payload": Payload()}, p)
    with pytest.raises(WeightsError) as e:
        DeepGazeIIE.from_checkpoint(p)
    assert str(e.value) == f"{p}: {NOT_TENSOR_ONLY} {EXPECTED}"
    assert not marker.exists()
    with pytest.raises(WeightsError, match="not a tensor-only PyTorch checkpoint"):
        DeepGazeIIE.check_checkpoint(p)
    assert not marker.exists()


def test_a_raw_pickle_is_named_as_such_without_torch_warnings(tmp_path, capsys):
    """Issue 15, case 8: torch's "please file an issue" warning leaked through `weights import` of a pickle."""
    import pickle
    import warnings

    from asdgaze.cli import main

    p = tmp_path / "raw.pth"
    p.write_bytes(pickle.dumps({"models.0.x": [1.0, 2.0]}, protocol=4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(WeightsError) as e:
            DeepGazeIIE.from_checkpoint(p)
    assert str(e.value) == f"{p}: {NOT_TENSOR_ONLY} {EXPECTED}"
    assert [str(w.message) for w in caught] == []
    assert main(["weights", "import", str(p)]) == 1
    assert capsys.readouterr().err == f"Error: {p}: {NOT_TENSOR_ONLY} {EXPECTED}\n"


def test_from_pretrained_without_cached_weights_names_the_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    for load in (DeepGazeIIE.from_pretrained, DeepGazeIIE.from_checkpoint):
        with pytest.raises(WeightsError) as e:
            load()
        assert f"not found at {tmp_path / 'cache' / 'deepgaze2e.pth'}" in str(e.value)
        assert "asdgaze weights download" in str(e.value)


def test_from_pretrained_reads_the_cache(checkpoint_seed0, state_seed0, tmp_path, monkeypatch):
    """What the README shows after `asdgaze weights download`: no path needed."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "deepgaze2e.pth").symlink_to(checkpoint_seed0)
    monkeypatch.setenv("ASDGAZE_HOME", str(tmp_path / "cache"))
    model = DeepGazeIIE.from_pretrained()
    key = "models.3.finalizers.29.gauss.sigma"
    assert torch.equal(model.state_dict()[key], state_seed0[key])
    assert DeepGazeIIE.check_checkpoint() == tmp_path / "cache" / "deepgaze2e.pth"


def test_check_checkpoint_refuses_wrong_keys_without_loading(state_seed0, tmp_path):
    bad = dict(state_seed0)
    del bad["models.0.finalizers.0.gauss.sigma"]
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="bad.pth is not a DeepGaze IIE checkpoint: 1 missing"):
        DeepGazeIIE.check_checkpoint(tmp_path / "bad.pth")


def test_efficientnet_padding_is_the_published_456_layout(meta_model):
    """spec.md §4: the two convs where efficientnet-pytorch 0.7.1 differs from the vendored copy."""
    net = meta_model.models[1].features.features[1]
    # ZeroPad2d padding is (left, right, top, bottom)
    assert tuple(net._blocks[13]._depthwise_conv.static_padding.padding) == (0, 1, 0, 1)
    assert tuple(net._blocks[27]._depthwise_conv.static_padding.padding) == (1, 2, 1, 2)
    assert tuple(net._conv_stem.static_padding.padding) == (0, 1, 0, 1)  # k3 s2
    assert tuple(net._blocks[8]._depthwise_conv.static_padding.padding) == (1, 2, 1, 2)  # k5 s2
    assert tuple(net._blocks[24]._depthwise_conv.static_padding.padding) == (2, 2, 2, 2)  # k5 s1


def test_train_is_refused(model_seed0):
    with pytest.raises(RuntimeError, match="inference-only"):
        model_seed0.train()
    model_seed0.eval()  # eval() stays allowed
    assert not any(m.training for m in model_seed0.modules())


def test_layers_after_the_last_hook_do_not_run(model_seed0):
    m = model_seed0.models
    unused = [m[0].features.features[1].module.fc, m[0].features.features[1].module.layer4[2].conv3,
              m[1].features.features[1]._blocks[36], m[1].features.features[1]._conv_head,
              m[1].features.features[1]._fc, m[2].features.features[1].features.norm5,
              m[2].features.features[1].features.denseblock4.denselayer32.conv2,
              m[2].features.features[1].classifier, m[3].features.features[1].layer4[2].conv3,
              m[3].features.features[1].fc]
    fired = []
    handles = [u.register_forward_hook(lambda *a, i=i: fired.append(i)) for i, u in enumerate(unused)]
    try:
        model_seed0.forward_parts(torch.full((1, 3, 64, 64), 100.0), torch.zeros(1, 64, 64))
    finally:
        for h in handles:
            h.remove()
    assert fired == []
