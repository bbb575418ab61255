"""A layer kind registered in one place, outside ``symparam/layers/``: the SwiGLU
feed-forward of tests/plugins/swiglu_plugin.py. Loaded (``--plugin``, or imported),
with no other file touched, it counts (checked against PyTorch and Keras), derives,
has a card, is listed by ``explain --list`` under its own family, joins the generated
layer reference and ``leading``'s groups. A minimal kind gets the defaults.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

import symparam
from symparam.cli import main
from symparam.layers.base import REGISTRY, Applied, LayerKind, register

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests/plugins/swiglu_plugin.py"
MODEL = ("model mlp(T = 16, d = 64, f = 172):\n"
         "    input [T, d]\n"
         "    swiglu f\n")
LLAMA_BLOCK = ("model llama(T = 16, d = 64, f = 172, V = 100):\n"
               "    input [T]\n"
               "    embedding V, d\n"
               "    rmsnorm\n"
               "    swiglu f\n"
               "    dense V, bias = false\n")
d, f, T, V = (sympy.Symbol(s, integer=True, positive=True) for s in "dfTV")


@pytest.fixture
def plugin(monkeypatch):
    """The plugin loaded as a user loads it (``--plugin FILE``); unloaded afterwards, so
    that no other test sees its kind."""
    monkeypatch.chdir(ROOT)
    before = dict(REGISTRY)
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, "explain", "--list"])
    assert result.exit_code == 0, result.output
    yield result
    unload(before)


def unload(registry: dict) -> None:
    """Back to ``registry``, the plugins' modules forgotten. Only their own modules:
    whatever else they imported stays (a second copy of jinja2, say, would not match
    the first one's classes)."""
    REGISTRY.clear()
    REGISTRY.update(registry)
    for name in [n for n in sys.modules if n.startswith("symparam_plugin_")]:
        del sys.modules[name]


def run(*args: str):
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_plugin_is_one_file_that_symparam_does_not_name():
    """Nothing in symparam/, templates/ or docs/layers.md knows the kind."""
    assert "swiglu" not in REGISTRY
    for folder in ("symparam", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".j2", ".lark"):
                assert "swiglu" not in path.read_text(encoding="utf-8").lower(), path
    assert "swiglu" not in (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")


def test_without_the_plugin_the_name_is_unknown():
    result = CliRunner().invoke(main, ["count", "-"], input=MODEL)
    assert result.exit_code == 2 and "unknown layer 'swiglu'" in result.output


def test_counts(plugin):
    keras = symparam.analyze(MODEL)
    torch = symparam.analyze(MODEL, convention="torch")
    assert keras.total == torch.total == 3 * d * f
    assert keras.value(keras.total) == 3 * 64 * 172 == 33024
    assert [w.name for w in torch.layers[-1].weights] == ["w1.weight", "w3.weight",
                                                          "w2.weight"]
    assert tuple(torch.layers[-1].output_shape) == (T, d)
    biased = symparam.analyze(MODEL.replace("swiglu f", "swiglu f, bias = true"))
    assert biased.value(biased.total) == 33024 + 2 * 172 + 64


def test_count_on_the_command_line(plugin):
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, "count", "-", "--convention",
                                       "torch"], input=MODEL)
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if "Total params" in row)
    assert line.split() == ["Total", "params", "3*d*f", "33,024"]


def test_a_fresh_process_loads_it_by_file_and_by_module_name():
    """As a user runs it: a new interpreter, the plugin named on the command line (or
    in SYMPARAM_PLUGINS)."""
    for how in (["--plugin", PLUGIN], ["--plugin", "tests.plugins.swiglu_plugin"]):
        done = subprocess.run([sys.executable, "-m", "symparam", *how, "count", "-"],
                              input=MODEL, capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert "33,024" in done.stdout
    env = {"PATH": "/usr/bin:/bin", "SYMPARAM_PLUGINS": PLUGIN, "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-m", "symparam", "count", "-"], input=MODEL,
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert done.returncode == 0 and "33,024" in done.stdout, done.stderr


@pytest.mark.parametrize("spec, message", [
    ("tests/plugins/no_such.py", "cannot load plugin 'tests/plugins/no_such.py': no such file"),
    ("no_such_module_anywhere", "cannot load plugin 'no_such_module_anywhere': No module"),
])
def test_a_bad_plugin_is_one_message(spec, message):
    result = CliRunner().invoke(main, ["--plugin", spec, "explain", "--list"])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_a_plugin_reusing_a_name_is_one_message(tmp_path):
    bad = tmp_path / "clash.py"
    bad.write_text("from symparam.layers.base import LayerKind, register\n"
                   "class Dense(LayerKind):\n    names = ('dense',)\n"
                   "register(Dense())\n")
    result = CliRunner().invoke(main, ["--plugin", str(bad), "explain", "--list"])
    assert result.exit_code == 2
    assert "layer name 'dense' registered twice" in result.output


def test_derives(plugin):
    """Its shape step (input and output, in symbols and numbers), its weights and its
    count step."""
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, "derive", "-", "-f", "text"],
                                input=MODEL)
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("swiglu (SwiGLU), line 3\n"
            "  input (None, T, d) = (None, 16, 64)\n"
            "  output (None, T, d) = (None, 16, 64)\n"
            "  weights:\n"
            "    w1/kernel: d x f, trainable, d*f\n"
            "    w3/kernel: d x f, trainable, d*f\n"
            "    w2/kernel: f x d, trainable, d*f\n"
            "  P = d*f + d*f + d*f\n"
            "    = 3*d*f\n"
            "    = 3*64*172\n"
            "    = 33,024\n") in out


def test_derives_in_latex_with_its_weights(plugin):
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, "derive", "-", "-f", "latex",
                                       "--convention", "torch"], input=MODEL)
    assert result.exit_code == 0, result.output
    assert r"\texttt{w2.weight}" in result.output and r"33\,024" in result.output


def test_explain_list_and_card(plugin):
    listed = plugin.output.splitlines()
    assert "Gated feed-forward layers:" in listed
    assert listed.index("  swiglu") == listed.index("Gated feed-forward layers:") + 1
    card = run("explain", "swiglu")
    assert card.startswith("swiglu: Keras SwiGLU, PyTorch SwiGLU")
    assert "parameters: 3*d*f" in card
    assert "Keras stores w1/kernel as d × f, PyTorch w1.weight as f × d (transposed)" in card


def test_in_the_generated_reference(plugin, tmp_path):
    out = tmp_path / "layers.md"
    run("explain", "--reference", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert "\n## Gated feed-forward layers\n" in text and "### `swiglu`" in text
    # its family comes after every shipped one
    assert text.index("## Gated feed-forward layers") > text.index("## Other layers")
    stale = CliRunner().invoke(main, ["--plugin", PLUGIN, "explain", "--reference",
                                      "--check", "docs/layers.md"])
    assert stale.exit_code == 1 and "docs/layers.md is stale" in stale.output


def test_in_leading_groups(plugin):
    from symparam.analysis.leading import kind_group, leading

    assert kind_group("swiglu") == "feed-forward"
    result = leading(symparam.analyze(LLAMA_BLOCK), ["d"])
    groups = {g.name: g.expr for g in result.groups}
    assert sympy.expand(groups["feed-forward"] - (3 * d * f + d * V)) == 0
    assert groups["embeddings"] == V * d and groups["normalization"] == d
    result = CliRunner().invoke(main, ["--plugin", PLUGIN, "leading", "-", "--in", "d"],
                                input=LLAMA_BLOCK)
    assert result.exit_code == 0, result.output
    row = next(r for r in result.output.splitlines() if r.split()[:1] == ["feed-forward"])
    assert row.split()[:4] == ["feed-forward", "V*d", "+", "3*d*f"], row
    assert "39,424" in row  # 100*64 + 3*64*172


# ---- against the frameworks ---------------------------------------------------------

@pytest.mark.oracle
def test_against_pytorch_and_keras(plugin, frameworks):
    """The same SwiGLU built in PyTorch (three Linear without bias) and Keras (three
    Dense): parameter count, weight shapes and output shape agree with symparam's."""
    torch, keras = frameworks["torch"], frameworks["keras"]

    class SwiGLU(torch.nn.Module):
        def __init__(self, dim, hidden):
            super().__init__()
            self.w1 = torch.nn.Linear(dim, hidden, bias=False)
            self.w3 = torch.nn.Linear(dim, hidden, bias=False)
            self.w2 = torch.nn.Linear(hidden, dim, bias=False)

        def forward(self, x):
            return self.w2(torch.nn.functional.silu(self.w1(x)) * self.w3(x))

    module = SwiGLU(64, 172)
    with torch.no_grad():
        out = module(torch.zeros(2, 16, 64))
    stats = symparam.analyze(MODEL, convention="torch")
    layer = stats.layers[-1]
    assert stats.value(stats.total) == sum(p.numel() for p in module.parameters())
    assert [tuple(int(stats.at(s)) for s in w.shape) for w in layer.weights] == [
        tuple(p.shape) for p in (module.w1.weight, module.w3.weight, module.w2.weight)]
    assert tuple(out.shape[1:]) == tuple(int(stats.at(s)) for s in layer.output_shape)

    x = keras.Input((16, 64))
    layers = [keras.layers.Dense(172, use_bias=False), keras.layers.Dense(172, use_bias=False),
              keras.layers.Dense(64, use_bias=False)]
    y = layers[2](keras.ops.silu(layers[0](x)) * layers[1](x))
    model = keras.Model(x, y)
    kstats = symparam.analyze(MODEL)
    assert kstats.value(kstats.total) == model.count_params() == 33024
    assert [tuple(int(kstats.at(s)) for s in w.shape) for w in kstats.layers[-1].weights] \
        == [tuple(layer.kernel.shape) for layer in layers]
    assert tuple(y.shape[1:]) == tuple(int(kstats.at(s)) for s in kstats.layers[-1].output_shape)
    assert math.prod(tuple(model(keras.ops.zeros((2, 16, 64))).shape)) == 2 * 16 * 64


# ---- the defaults of a minimal kind --------------------------------------------------

class _Scale(LayerKind):
    """A kind that says only its names and apply: every default applies."""

    names = ("plugin_test_scale",)

    def apply(self, a, x, ctx):
        return Applied(tuple(x))


class _Pair(LayerKind):
    names = ("plugin_test_pair",)

    def apply(self, a, x, ctx):
        return Applied((*x, 2))


@pytest.fixture
def minimal():
    kinds = (_Scale(), _Pair())
    for kind in kinds:
        register(kind)
    yield kinds
    for kind in kinds:
        REGISTRY.pop(kind.names[0])


def test_a_minimal_kind_gets_the_defaults(minimal):
    from symparam import cards
    from symparam.analysis.leading import kind_group
    from symparam.render.shapes import shape_rule

    scale, pair = minimal
    titles = {fam.title: [k.names[0] for k in kinds] for fam, kinds in cards.families()}
    assert titles["Other layers"][-2:] == ["plugin_test_scale", "plugin_test_pair"]
    assert kind_group("plugin_test_scale") == "other"
    stats = symparam.analyze("model m(n = 3):\n    input [n]\n    plugin_test_scale\n"
                             "    plugin_test_pair\n")
    rules = [k.shape_rule({}, (tuple(layer.input_shapes[0]),), tuple(layer.output_shape),
                          stats.layout) for k, layer in zip(minimal, stats.layers[1:])]
    assert [r.rule for r in rules] == ["same_as_input", "input_to_output"]
    assert not any(r.has_formula for r in rules)
    # A derivation gives such a layer's shapes, and no formula of its own.
    assert shape_rule(stats.layers[1], stats.layout) is None
    assert tuple(stats.layers[2].output_shape) == (sympy.Symbol("n", integer=True,
                                                                positive=True), 2)


# ---- the worked plugin of docs/adding-a-layer.md ------------------------------------

def test_the_documented_plugin_commands_run(tmp_path, monkeypatch):
    """docs/adding-a-layer.md's layer saved as channel_scale.py, and each command its
    "As a plugin" section lists run on its model, with the numbers the page gives."""
    import re

    text = (ROOT / "docs" / "adding-a-layer.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    model = re.search(r"```\n(model m.*?)```", text, re.S).group(1)
    commands = re.findall(r"^    symparam (--plugin channel_scale\.py .*)$", text, re.M)
    assert len(commands) == 6
    (tmp_path / "channel_scale.py").write_text(code, encoding="utf-8")
    (tmp_path / "m.symp").write_text(model, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = dict(REGISTRY)
    try:
        outputs = []
        for command in commands:
            result = CliRunner().invoke(main, command.split())
            assert result.exit_code == 0, (command, result.output)
            outputs.append(result.output)
    finally:
        unload(before)
    count, derive, card, listed, wrote, lead = outputs
    total = next(r for r in count.splitlines() if "Total params" in r)
    assert total.split() == ["Total", "params", "2*C", "32"]
    assert "  P = C + C\n    = 2*C\n    = 2*16\n    = 32\n" in derive
    assert card.startswith("channel_scale: Keras ChannelScale, PyTorch ChannelScale")
    assert listed.splitlines()[-2:] == ["Affine layers:", "  channel_scale"]
    assert wrote == "wrote layers.md\n"
    assert "## Affine layers" in (tmp_path / "layers.md").read_text(encoding="utf-8")
    assert lead.splitlines()[-1].split()[:2] == ["normalization", "2*C"]
