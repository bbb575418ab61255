"""What each layer kind owns, said once: its family, its leading-term group, its shape
rule (the printed formula and the computed size agree, since both come from
layers/conv.py), and the one table of activations."""
from __future__ import annotations

import itertools

import pytest
import sympy

import symparam
from symparam import cards
from symparam.activations import ACTIVATIONS
from symparam.analysis.leading import kind_group
from symparam.costs import activation_ops
from symparam.layers import REGISTRY
from symparam.layers.conv import WINDOW_RULES, window_length
from symparam.render.printers import TextMath
from symparam.render.shapes import shape_rule


# ---- families and groups ---------------------------------------------------------------

def test_families_in_order_with_their_titles():
    titles = [family.title for family, _ in cards.families()]
    assert titles == ["Core layers", "Convolution, pooling and padding", "Normalization",
                      "Recurrent layers", "Attention", "Mixture of experts", "Merges",
                      "Other layers"]


# The groups docs/analysis.md gives for `leading --group kind`.
@pytest.mark.parametrize("name, group", [
    ("dense", "feed-forward"), ("linear", "feed-forward"), ("embedding", "embeddings"),
    ("position_embedding", "embeddings"), ("attention", "attention"), ("mha", "attention"),
    ("batchnorm", "normalization"), ("rmsnorm", "normalization"),
    ("instancenorm", "normalization"), ("conv2d", "convolution"),
    ("conv1d_transpose", "convolution"), ("depthwise_conv2d", "convolution"),
    ("separable_conv1d", "convolution"), ("lstm", "recurrent"), ("rnn", "recurrent"),
    ("gru", "recurrent"), ("maxpool2d", "other"), ("flatten", "other"), ("relu", "other"),
    ("add", "other"), ("prelu", "other"), ("no_such_layer", "other"),
])
def test_groups(name, group):
    assert kind_group(name) == group


def test_every_kind_is_filed():
    for kind in set(REGISTRY.values()):
        assert kind.family.title and kind.group, kind.names


# ---- shape rules: one formula, printed and computed -----------------------------------

class _Numbers:
    """A printer of plain numbers, for filling a rule in."""

    def __call__(self, value):
        return str(value)


def _read(text: str):
    """A filled-in text rule (``floor((32 + 2*1 - 3)/2) + 1``) as a number: tests may
    parse, symparam may not."""
    return sympy.sympify(text.replace("ceil(", "ceiling("))


@pytest.mark.parametrize("rule", sorted(WINDOW_RULES))
def test_each_printed_rule_is_the_computed_length(rule):
    """Every rule of WINDOW_RULES, filled in with numbers where it applies, is the size
    window_length computes: the derivation cannot print one formula and the analyzer
    use another."""
    base = rule.rstrip("1")
    checked = 0
    for n, k, s, d, p in itertools.product(range(7, 14), (1, 2, 3), (1, 2, 3), (1, 2),
                                           (0, 1, 2)):
        applies = {"valid": p == 0 and d == 1, "padded": p > 0 and d == 1,
                   "dilated": d != 1, "same": p == 0 and d == 1}[base]
        if not applies or (rule.endswith("1") != (s == 1)):
            continue
        step = type("Step", (), {})()
        step.args, step.size = {"k": k, "s": s, "d": d, "p": p}, n
        text = WINDOW_RULES[rule].filled(_Numbers(), step, tex=False)
        want = window_length(sympy.Integer(n), k, s, d, p, same=base == "same")
        assert _read(text) == want, (rule, n, k, s, d, p, text)
        checked += 1
    assert checked >= 20


def test_the_textbook_size_drops_only_the_rounding():
    n = sympy.Symbol("n", integer=True, positive=True)
    assert window_length(n, 3, 2, 1, 1) == sympy.floor((n - 1) / 2) + 1
    assert window_length(n, 3, 2, 1, 1, rounded=False) == (n - 1) / 2 + 1
    assert window_length(n, 3, 2, 1, 0, same=True) == sympy.ceiling(n / 2)


def _layers(source: str, convention: str = "keras"):
    stats = symparam.analyze(source, convention=convention)
    return stats, stats.layers[1:]


def test_kinds_state_their_rules():
    stats, layers = _layers("model m(H = 32):\n    input [H, H, 3]\n"
                            "    conv2d 8, 3, stride = 2, padding = same\n"
                            "    maxpool2d 2\n    conv2d_transpose 4, 3, stride = 2\n"
                            "    batchnorm\n    flatten\n    dense 10\n")
    rules = [shape_rule(layer, stats.layout) for layer in layers]
    assert [r.rule if r else None for r in rules] == ["same", "valid", None, None,
                                                      "flatten", None]
    assert rules[0].filled(TextMath(stats), rules[0].axes[0], tex=False) == "ceil(H/2)"
    assert rules[1].legend == "kernel k, stride s, no padding"
    # What the kinds say for the layers whose shapes a derivation gives as they are.
    from symparam.layers import lookup
    said = [lookup(layer.kind).shape_rule(dict(layer.args), tuple(layer.input_shapes),
                                          tuple(layer.output_shape), stats.layout).rule
            for layer in layers]
    assert said == ["same", "valid", "input_to_output", "same_as_input", "flatten",
                    "input_to_output"]


def test_ceil_mode_pooling_has_no_window_formula():
    stats, layers = _layers("convention torch\nmodel m(H = 33):\n    input [3, H, H]\n"
                            "    maxpool2d 2, ceil_mode = true\n", "torch")
    assert shape_rule(layers[0], stats.layout) is None
    # PyTorch's MaxPool2d(2, ceil_mode=True) on 33 rows gives 17.
    assert stats.value(layers[0].output_shape[1]) == 17


# ---- activations ------------------------------------------------------------------------

def test_every_activation_is_an_argument_and_the_layer_forms_are_kinds():
    for name in ACTIVATIONS:
        s = symparam.analyze(f"model m(n = 4):\n    input [n]\n    dense 2, activation = {name}\n")
        assert s.value(s.total) == 10
    layer_forms = {n for n, a in ACTIVATIONS.items() if a.layer}
    assert layer_forms == {"relu", "relu6", "sigmoid", "tanh", "softmax", "gelu", "silu",
                           "elu", "leaky_relu"}
    assert layer_forms <= set(REGISTRY)
    assert REGISTRY["relu"].keras == "ReLU" and REGISTRY["gelu"].torch == "GELU"


def test_costs_read_the_table():
    n = sympy.Symbol("n")
    assert activation_ops("linear", n) == 0 and activation_ops(None, n) == 0
    assert activation_ops("gelu", n) == n
