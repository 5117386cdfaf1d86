"""Outputs of the published implementation (reference_seed0.pt, seed-0 synthetic weights, CPU fp32).

Tolerance 1e-4 nats (tests/reference/deepgaze/README.md); legitimate reorderings stay below 3e-5.
"""

from __future__ import annotations

import pytest
import torch

ATOL = 1e-4


@pytest.mark.parametrize("case", ["main", "odd_batch2_gausscb"])
@pytest.mark.parametrize("reference_path", [False, True], ids=["fused", "reference"])
def test_matches_published_outputs(model_seed0, reference, case, reference_path):
    c = reference[case]
    got = model_seed0.forward_parts(c["image"], c["centerbias"], reference=reference_path, parts=True)
    # The odd case's readout inputs were left out of the repository's copy (3.5 MB; README there):
    # its per-backbone and final outputs still locate a mismatch.
    assert ("readout_input" in c) == (case == "main")
    for ours, theirs in zip(got["readout_input"], c.get("readout_input", ())):
        assert ours.shape == theirs.shape
        assert (ours - theirs).abs().max().item() <= ATOL
    for ours, theirs in zip(got["per_backbone_output"], c["per_backbone_output"]):
        assert ours.shape == theirs.shape
        assert (ours - theirs).abs().max().item() <= ATOL
    out = got["output"]
    assert out.shape == c["output"].shape and out.dtype == torch.float32
    assert (out - c["output"]).abs().max().item() <= ATOL
    lse = torch.logsumexp(out.double().flatten(1), dim=1)
    assert lse.abs().max().item() <= 1e-5


def test_uint8_input_equals_float_input(model_seed0, reference):
    """spec.md §1: uint8 input gives the same result as float input with the same integer values."""
    c = reference["main"]
    image = c["image"].round()
    a = model_seed0(image, c["centerbias"])
    b = model_seed0(image.to(torch.uint8), c["centerbias"])
    assert torch.equal(a, b)


def test_predict_api_on_reference_case(model_seed0, reference):
    """model.predict with a tensor batch and a (B, H, W) centre bias gives the published output."""
    c = reference["odd_batch2_gausscb"]
    out = model_seed0.predict(c["image"], centerbias=c["centerbias"], batch_size=1)
    assert out.shape == (2, 191, 255)
    assert (out - c["output"][:, 0]).abs().max().item() <= ATOL


def test_bf16_backbones_are_opt_in_and_close(model_seed0, reference):
    """bf16 autocast on the backbones only: not "the same output" (spec.md §7: CPU bf16 max 0.066 on
    random weights). Measured here: max 0.047 nats (main), 0.097 (odd case). The documented bound is 0.2."""
    c = reference["main"]
    out = model_seed0.forward_parts(c["image"], c["centerbias"], precision="bf16")["output"]
    assert out.dtype == torch.float32
    assert torch.logsumexp(out.double().flatten(1), dim=1).abs().max().item() <= 1e-5
    dev = (out - c["output"]).abs().max().item()
    assert 1e-4 < dev <= 0.2  # really reduced precision, but within the documented bound
    with pytest.raises(ValueError, match="precision must be one of"):
        model_seed0.forward_parts(c["image"], c["centerbias"], precision="int8")
