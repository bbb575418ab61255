"""`symparam import --from torch`: torchvision's models, traced by torch.fx and
written in the language, count as PyTorch counts them (total, trainable, buffers) and
every layer's output shape is the one torch's own shape propagation finds (on the meta
device). Also the lifting of numbers to symbols, a model from a .py file, and the
errors: a module or operation symparam cannot write, a bad MODULE:NAME.

Without torch the tests skip, saying why; with ``CI`` set they fail instead.
"""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import symparam
from symparam.cli import main
from symparam.errors import SymparamError
from symparam.imports import import_torch

MODELS = ["alexnet", "vgg16", "resnet18", "resnet50", "squeezenet1_0", "mobilenet_v2"]
# Models whose identical consecutive blocks are rolled into `repeat`, and how many.
ROLLED = {"resnet18": 1, "resnet50": 4, "squeezenet1_0": 2, "mobilenet_v2": 4}
# The fixture torchvision (conftest) imports it as torch 2.13 allows.


def _shapes(torch, model, shape) -> dict[str, tuple]:
    """Each fx node's output shape (batch dropped), by torch's shape propagation."""
    from torch.fx.passes.shape_prop import ShapeProp
    traced = torch.fx.symbolic_trace(model)
    ShapeProp(traced).propagate(torch.empty(1, *shape, device="meta"))
    return {n.name: tuple(n.meta["tensor_meta"].shape[1:]) for n in traced.graph.nodes
            if "tensor_meta" in n.meta and n.op != "output"}


@pytest.mark.oracle
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(3, 224, 224), (3, 97, 131)], ids=["224", "97x131"])
def test_torchvision_models_count_and_shape_as_pytorch(torchvision, name, shape):
    import torch
    imported = import_torch(f"torchvision.models:{name}", shape)
    s = symparam.analyze(imported.text)
    with torch.device("meta"):
        model = getattr(torchvision.models, name)()
    params = list(model.parameters())
    assert (s.value(s.total), s.value(s.trainable), s.value(s.buffers)) == (
        sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad),
        sum(b.numel() for b in model.buffers()))
    assert imported.text.count("repeat ") == ROLLED.get(name, 0)
    # Every layer that kept its node's name (those outside rolled repeats) has the
    # shape torch propagates, and so has the model's output.
    named = set(re.findall(r" as (\w+)$", imported.text, re.M))
    layers = {layer.name: layer for layer in s.layers if layer.name in named}
    want = _shapes(torch, model, shape)
    compared = 0
    for node, expected in want.items():
        if node in layers:
            got = tuple(int(s.value(d)) for d in layers[node].output_shape)
            assert got == expected, node
            compared += 1
    assert compared == len(named & want.keys()) >= 10
    last = [n for n in want][-1]
    assert tuple(int(s.value(d)) for d in s.layers[-1].output_shape) == want[last]


def test_numbers_lift_to_symbols(torchvision):
    imported = import_torch("torchvision.models:alexnet", (3, 224, 224),
                            {"C": 3, "H": 224, "W": 224, "classes": 1000})
    assert "model alexnet(C = 3, H = 224, W = 224, classes = 1000):" in imported.text
    assert "input [C, H, W] as x" in imported.text
    assert "dense classes as classifier_6" in imported.text
    s = symparam.analyze(imported.text, values={"classes": 10})
    assert s.value(s.total) == 61_100_840 - 4096 * 990 - 990  # a 10-class head


def test_a_model_from_a_python_file_and_the_cli(tmp_path, frameworks):
    (tmp_path / "net.py").write_text(
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)\n"
        "        self.bn = torch.nn.BatchNorm2d(8)\n"
        "        self.fc = torch.nn.Linear(8 * 28 * 28, 10)\n"
        "    def forward(self, x):\n"
        "        y = torch.relu(self.bn(self.conv(x)))\n"
        "        return self.fc(torch.flatten(y + y, 1))\n")
    out = tmp_path / "net.symp"
    r = CliRunner().invoke(main, ["import", f"{tmp_path / 'net.py'}:Net", "--from", "torch",
                                  "--input", "1,28,28", "--symbol", "H=28,W=28", "-o",
                                  str(out)])
    assert r.exit_code == 0, r.output
    s = symparam.analyze(out.read_text())
    # conv 8*9 + 8, batchnorm 16 (+ 17 buffers), linear 6272 * 10 + 10
    assert (s.value(s.total), s.value(s.buffers)) == (80 + 16 + 62_730, 17)
    assert "input [1, H, W] as x" in out.read_text()


@pytest.mark.parametrize("source, message", [
    ("torch.nn:LSTM", r"cannot build"),
    ("nope_module_x:Net", r"cannot load nope_module_x:Net: ModuleNotFoundError"),
    ("torchvision", r"MODULE:NAME"),
    ("torch.nn:Transformer", r"torch.fx cannot trace torch.nn:Transformer: TraceError"),
])
def test_bad_sources_get_one_clear_message(frameworks, source, message):
    r = CliRunner().invoke(main, ["import", source, "--from", "torch", "--input", "3,8"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert re.search(message, r.output), r.output


def test_unsupported_modules_are_named(tmp_path, frameworks):
    (tmp_path / "odd.py").write_text(
        "import torch\n"
        "def build():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4),\n"
        "                               torch.nn.Mish(), torch.nn.Linear(4, 2))\n")
    with pytest.raises(SymparamError, match=r"cannot write 2 part\(s\) of this model yet: "
                                            r"1 \(LayerNorm is not a module.*2 \(Mish"):
        import_torch(f"{tmp_path / 'odd.py'}:build", (4,))


def test_input_is_required(frameworks):
    r = CliRunner().invoke(main, ["import", "torchvision.models:alexnet", "--from", "torch"])
    assert r.exit_code == 2 and "--from torch needs --input" in r.output
    r = CliRunner().invoke(main, ["import", "config.json", "--symbol", "d=3"])
    assert r.exit_code == 2 and "go with --from torch" in r.output
