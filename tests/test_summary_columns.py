"""``summary --columns``: per-layer MACs, FLOPs, parameter memory and activation bytes,
whose totals are the model's own figures (``cost``, ``memory``), checked against
PyTorch: the MACs column of a small convolutional model equals FlopCounterMode's FLOPs
/ 2 per layer, and the activation column the bytes of the tensors its forward pass
returns."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import symparam
from symparam.analysis.memory import activation_memory, parameter_memory
from symparam.analysis.metrics import layer_columns
from symparam.cli import main

SEED000_TOTALS = {"Total MACs": "2,138,112", "Total Memory (bf16)": "4,281,504",
                  "Total Activations (bf16)": "3,232"}


def test_totals_are_the_models_own_figures():
    s = symparam.analyze((symparam.resources.resource_dir("examples") / "seed000.symp"))
    cols = dict(layer_columns("macs,memory,activations", "bf16"))
    total = {title: sum(v for v in map(f, s.model_layers) if v is not None)
             for title, f in cols.items()}
    assert s.value(total["MACs"]) == s.value(s.macs)
    assert s.value(total["Memory (bf16)"]) == s.value(parameter_memory(s, "bf16"))
    assert s.value(total["Activations (bf16)"]) == s.value(
        activation_memory(s, batch=1, dtype="bf16").total)
    out = CliRunner().invoke(main, ["summary", "--example", "seed000", "--columns",
                                    "macs,memory,activations", "--dtype", "bf16"]).output
    for label, value in SEED000_TOTALS.items():
        assert f"{label}: {value}" in out


CNN = """convention torch
model m(C = 3, H = 12, W = 10):
    input [C, H, W]
    conv2d 8, 3, padding = 1 as c1
    relu as relu
    conv2d 16, 3, stride = 2 as c2
    flatten as flatten
    dense 5 as fc
"""


@pytest.mark.oracle
def test_macs_and_activations_match_pytorch(frameworks):
    torch = frameworks["torch"]
    from torch.utils.flop_counter import FlopCounterMode
    layers = {"c1": torch.nn.Conv2d(3, 8, 3, padding=1), "relu": torch.nn.ReLU(),
              "c2": torch.nn.Conv2d(8, 16, 3, stride=2), "flatten": torch.nn.Flatten(),
              "fc": torch.nn.Linear(16 * 5 * 4, 5)}
    s = symparam.analyze(CNN)
    cols = dict(layer_columns("macs,activations", "fp32"))
    by_name = {layer.name: layer for layer in s.model_layers}
    x = torch.zeros(1, 3, 12, 10)
    for name, module in layers.items():
        with FlopCounterMode(display=False) as counter:
            x = module(x)
        assert s.value(cols["Activations (fp32)"](by_name[name])) == x.numel() * 4, name
        if name in ("c1", "c2", "fc"):
            # FlopCounterMode counts 2 FLOPs per MAC of convolutions and matmuls.
            assert 2 * s.value(cols["MACs"](by_name[name])) == counter.get_total_flops()


def test_bad_columns_are_refused():
    out = CliRunner().invoke(main, ["summary", "--example", "seed000", "--columns", "mac"])
    assert out.exit_code == 2 and "unknown column 'mac' (did you mean 'macs'?)" in out.output
