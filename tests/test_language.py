"""The language's semantics against hand-computed ground truth.

Every expected number below comes from the frameworks' own formulas, written out here
independently of symparam: Dense u(n + 1); Conv F(k_h k_w C + 1); BatchNormalization
4C in Keras (gamma, beta trainable; moving mean and variance non-trainable) and 2C
parameters plus 2C + 1 buffers in PyTorch; LayerNormalization 2d; Keras ``valid``
floor((n - d(k-1) - 1)/s) + 1, ``same`` ceil(n/s); PyTorch
floor((n + 2p - d(k-1) - 1)/s) + 1.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
import sympy

from symparam import analyze

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def run(text: str, **kwargs):
    return analyze(textwrap.dedent(text).lstrip("\n"), **kwargs)


def sym(name: str) -> sympy.Symbol:
    """A symbol as the user's symbols are: a positive integer."""
    return sympy.Symbol(name, integer=True, positive=True)


def equal(a, b) -> bool:
    """Symbolic equality of two small expressions."""
    return sympy.simplify(sympy.expand(a - b)) == 0


# ---- the frameworks' formulas ------------------------------------------------------

def dense(n, units, bias=True):
    return units * (n + (1 if bias else 0))


def conv(kernel, channels, filters, bias=True):
    k = math.prod(kernel) if isinstance(kernel, tuple) else kernel * kernel
    return filters * (k * channels + (1 if bias else 0))


def keras_valid(n, k, s=1, d=1):
    return (n - d * (k - 1) - 1) // s + 1


def keras_same(n, s=1):
    return -(-n // s)


def torch_length(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def names(stats):
    return [layer.name for layer in stats.layers]


# ---- blocks ------------------------------------------------------------------------

BLOCKS = """
block mlp_block(units, rate = 0.1, act = relu):
    dense units, activation = act as fc
    dropout rate

block two(a, b = 8):
    mlp_block a as first
    mlp_block units = b, rate = 0.2 as second

model m(n = 10):
    input [n]
    two 4
    two 6, b = 3 as t
    mlp_block 5
"""


def test_blocks_defaults_keywords_positional_and_nesting():
    stats = run(BLOCKS)
    expected = (dense(10, 4) + dense(4, 8)      # two 4: b defaults to 8
                + dense(8, 6) + dense(6, 3)     # two 6, b = 3
                + dense(3, 5))                  # mlp_block 5
    assert stats.value(stats.total) == expected
    n = sym("n")
    assert equal(stats.total, dense(n, 4) + dense(4, 8) + dense(8, 6) + dense(6, 3)
                 + dense(3, 5))
    # The arguments reached the layers: units by keyword, rate and act by default.
    dropouts = [layer for layer in stats.layers if layer.kind == "dropout"]
    assert [d.args["rate"] for d in dropouts] == [sympy.Rational(1, 10), sympy.Rational(1, 5),
                                                  sympy.Rational(1, 10), sympy.Rational(1, 5),
                                                  sympy.Rational(1, 10)]
    assert {layer.args["activation"] for layer in stats.layers if layer.kind == "dense"} == {
        "relu"}


def test_as_names_inside_blocks_are_scoped_per_instance():
    stats = run(BLOCKS)
    dense_names = [layer.name for layer in stats.layers if layer.kind == "dense"]
    assert dense_names == ["two/first/fc", "two/second/fc", "t/first/fc", "t/second/fc",
                           "mlp_block/fc"]
    paths = [layer.path for layer in stats.layers if layer.kind == "dense"]
    assert paths == [("two", "first"), ("two", "second"), ("t", "first"), ("t", "second"),
                     ("mlp_block",)]
    twice = run("""
        block b():
            dense 3 as z
        model m():
            input [3]
            b
            b
        """)
    assert names(twice) == ["input_layer", "b/z", "b_1/z"]


def test_named_block_instances_in_an_unrolled_repeat_get_a_suffix():
    stats = run("""
        block grow(u):
            dense u as fc
        model m():
            input [2]
            repeat 3 as i:
                grow 4 + i as g
        """)
    assert names(stats)[1:] == ["g/fc", "g_1/fc", "g_2/fc"]
    assert stats.value(stats.total) == dense(2, 4) + dense(4, 5) + dense(5, 6)


def test_block_default_may_use_an_earlier_parameter():
    stats = run("""
        block b(k, j = 2 * k):
            dense j
        model m():
            input [3]
            b 4
            b 5, j = 7
        """)
    assert stats.value(stats.total) == dense(3, 8) + dense(8, 7)


def test_blocks_using_blocks_with_symbols():
    stats = run("""
        block unit(F):
            conv2d F, 3, padding = same
            batchnorm
        block pair(F):
            unit F
            unit F
        model m(H = 16, W = 16, C = 3, F = 8):
            input [H, W, C]
            pair F
        """, symbolic=True)
    C, F = sym("C"), sym("F")
    expected = conv(3, C, F) + 4 * F + conv(3, F, F) + 4 * F
    assert equal(stats.total, expected)
    assert equal(stats.non_trainable, 4 * F)


# ---- let, inputs, merges -------------------------------------------------------------

def test_let_names_a_derived_quantity():
    stats = run("""
        model ffn(d = 512):
            input [d]
            let ff = 4 * d
            dense ff, activation = gelu
            dense d
        """)
    d = sym("d")
    assert equal(stats.total, dense(d, 4 * d) + dense(4 * d, d))
    assert stats.value(stats.total) == dense(512, 2048) + dense(2048, 512)


def test_several_inputs_with_as_and_from():
    stats = run("""
        model two_towers(n = 10, h = 7):
            input [n] as x
            input [h] as y
            dense 5 as a
            from x
            dense 5 as b
            add a
            multiply a, b
            concat y
        """)
    by_name = {layer.name: layer for layer in stats.layers}
    n, h = sym("n"), sym("h")
    assert by_name["a"].input_shapes == ((h,),) and by_name["a"].inputs == ("y",)
    assert by_name["b"].input_shapes == ((n,),) and by_name["b"].inputs == ("x",)
    assert by_name["add"].inputs == ("b", "a")
    assert by_name["multiply"].inputs == ("add", "a", "b")
    assert stats.shape_at(by_name["concatenate"].output_shape) == (5 + 7,)
    assert stats.value(stats.total) == dense(7, 5) + dense(10, 5)
    assert equal(stats.total, dense(h, 5) + dense(n, 5))
    assert equal(by_name["concatenate"].output_shape[0], h + 5)


@pytest.mark.parametrize("layout, shape, expected", [
    ("channels_last", "[4, 4, 3]", (4, 4, 8)),     # the channel axis is the last...
    ("channels_first", "[3, 4, 4]", (8, 4, 4)),    # ...or the first, after the batch
])
def test_concat_axis_follows_the_layout(layout, shape, expected):
    stats = run(f"model m():\n    layout {layout}\n    input {shape} as x\n"
                f"    conv2d 5, 1\n    concat x\n")
    assert stats.layers[-1].output_shape == expected


def test_concat_along_a_given_axis():
    stats = run("model m():\n    input [4, 6] as x\n    dense 6\n    concat x, axis = 1\n")
    assert stats.layers[-1].output_shape == (8, 6)


# ---- residual and branches -----------------------------------------------------------

def test_residual_without_shortcut_adds_the_input():
    stats = run("""
        model m(H = 8, W = 8, C = 16):
            input [H, W, C]
            residual:
                conv2d C, 3, padding = same
                batchnorm
        """, symbolic=True)
    C = sym("C")
    assert equal(stats.total, conv(3, C, C) + 4 * C)
    add = stats.layers[-1]
    assert add.kind == "add" and add.inputs == ("batch_normalization", "input_layer")
    assert add.output_shape == add.input_shapes[1]


def test_residual_with_a_projection_shortcut():
    stats = run("""
        model m(H = 9, W = 9, C = 16):
            input [H, W, C]
            residual:
                conv2d 2 * C, 3, padding = same, stride = 2
            shortcut:
                conv2d 2 * C, 1, stride = 2
        """)
    assert stats.value(stats.total) == conv(3, 16, 32) + conv(1, 16, 32)
    body, short, add = stats.layers[1:]
    assert stats.shape_at(body.output_shape) == (keras_same(9, 2), keras_same(9, 2), 32)
    assert stats.shape_at(short.output_shape) == (keras_valid(9, 1, 2),) * 2 + (32,)
    assert add.inputs == (body.name, short.name)
    # Symbolically, ceil(H/2) and floor((H - 1)/2) + 1 are the same size for every H.
    H = sym("H")
    for a, b in zip(body.output_shape[:2], short.output_shape[:2]):
        assert all(a.subs(H, v).subs(sym("W"), v) == b.subs(H, v).subs(sym("W"), v)
                   for v in range(1, 40))


def test_branches_concat_and_add():
    stats = run("""
        model m(H = 8, W = 8, C = 16):
            input [H, W, C]
            branches concat:
                branch:
                    conv2d 8, 1
                branch:
                    conv2d 4, 3, padding = same
            branches add:
                branch:
                    conv2d 5, 1
                branch:
                    maxpool2d 3, stride = 1, padding = same
                    conv2d 5, 1
        """)
    by_kind = [layer for layer in stats.layers if layer.kind in ("concat", "add")]
    assert [stats.shape_at(layer.output_shape) for layer in by_kind] == [(8, 8, 12), (8, 8, 5)]
    assert stats.value(stats.total) == (conv(1, 16, 8) + conv(3, 16, 4)
                                        + conv(1, 12, 5) + conv(1, 12, 5))
    # Each branch starts from the tensor before the branches.
    first, second = stats.layers[1:3]
    assert first.inputs == second.inputs == ("input_layer",)


# ---- repeats -------------------------------------------------------------------------

TRANSFORMER_BODY = """
model m(d = 64, L):
    input [16, d]
    repeat {count}:
        dense 4 * d, activation = gelu
        dense d
        layernorm
"""


@pytest.mark.parametrize("count", ["L", "3", "1000", "100000"])
def test_symbolic_repeat_counts_the_body_without_unrolling(count):
    stats = run(TRANSFORMER_BODY.format(count=count), symbolic=True)
    d = sym("d")
    times = sym("L") if count == "L" else int(count)
    body = dense(d, 4 * d) + dense(4 * d, d) + 2 * d
    assert equal(stats.total, times * body)
    # One LayerStats per layer of the body, whatever the count: nothing unrolled.
    assert len(stats.layers) == 4
    assert [layer.multiplier for layer in stats.layers[1:]] == [times] * 3


def test_symbolic_repeat_with_values():
    stats = run(TRANSFORMER_BODY.format(count="L"), values={"L": 12})
    assert stats.value(stats.total) == 12 * (dense(64, 256) + dense(256, 64) + 128)


def test_repeat_of_a_shape_changing_body_unrolls():
    """VGG's first stage: the first convolution takes C channels, the others 64."""
    stats = run("""
        model vgg_stage(H = 224, W = 224, C = 3):
            input [H, W, C]
            repeat 2:
                conv2d 64, 3, padding = same, activation = relu
            maxpool2d 2
        """)
    convs = [layer for layer in stats.layers if layer.kind == "conv2d"]
    assert [stats.value(c.params) for c in convs] == [conv(3, 3, 64), conv(3, 64, 64)]
    assert stats.value(stats.total) == 1792 + 36928
    assert [c.multiplier for c in convs] == [1, 1]
    assert stats.shape_at(stats.layers[-1].output_shape) == (112, 112, 64)


def test_repeat_three_of_a_shrinking_body():
    stats = run("""
        model m():
            input [32, 32, 3]
            repeat 3:
                conv2d 16, 3
        """)
    sizes = [layer.output_shape for layer in stats.layers[1:]]
    assert sizes == [(30, 30, 16), (28, 28, 16), (26, 26, 16)]
    assert stats.value(stats.total) == conv(3, 3, 16) + 2 * conv(3, 16, 16)


def test_block_parameter_given_a_number_may_unroll():
    stats = run("""
        block stage(F, n):
            repeat n:
                conv2d F, 3, padding = same
            maxpool2d 2
        model m(C = 3):
            input [32, 32, C]
            stage 8, 2
            stage 16, 3
        """)
    assert stats.value(stats.total) == (conv(3, 3, 8) + conv(3, 8, 8)
                                        + conv(3, 8, 16) + 2 * conv(3, 16, 16))
    assert stats.layers[-1].output_shape == (8, 8, 16)


def test_repeat_index_used_in_the_body():
    stats = run("""
        model m():
            input [8]
            repeat 4 as i:
                dense 8 + i
        """)
    widths = [8, 8, 9, 10, 11]
    assert stats.value(stats.total) == sum(dense(a, b) for a, b in zip(widths, widths[1:]))
    assert [layer.output_shape for layer in stats.layers[1:]] == [(8,), (9,), (10,), (11,)]


def test_repeat_index_doubles_the_width():
    stats = run("""
        model m(C = 3):
            input [32, 32, C]
            repeat 3 as i:
                conv2d 8 * 2 ** i, 3, padding = same
                maxpool2d 2
        """)
    assert stats.value(stats.total) == conv(3, 3, 8) + conv(3, 8, 16) + conv(3, 16, 32)
    assert stats.layers[-1].output_shape == (4, 4, 32)


# ---- layouts and conventions ---------------------------------------------------------

def test_layout_channels_first():
    stats = run("""
        model m(C = 3, H = 32, W = 30):
            layout channels_first
            input [C, H, W]
            conv2d 16, 5
            batchnorm
            global_avgpool2d
        """)
    conv_layer, bn, pool = stats.layers[1:]
    assert stats.shape_at(conv_layer.output_shape) == (16, keras_valid(32, 5), keras_valid(30, 5))
    assert bn.output_shape == conv_layer.output_shape
    assert stats.value(bn.params) == 4 * 16       # over the channel axis, 1
    assert pool.output_shape == (16,)
    assert stats.value(stats.total) == conv(5, 3, 16) + 64


@pytest.mark.parametrize("convention, params, non_trainable, buffers", [
    ("keras", 4 * 32, 2 * 32, 0),
    ("torch", 2 * 32, 0, 2 * 32 + 1),
])
def test_batchnorm_statistics_by_convention(convention, params, non_trainable, buffers):
    stats = run(f"""
        convention {convention}
        model m(n = 20):
            input [n]
            dense 32
            batchnorm
        """)
    bn = stats.layers[-1]
    assert stats.value(bn.params) == params
    assert stats.value(bn.trainable) == 2 * 32
    assert stats.value(bn.non_trainable) == non_trainable
    assert stats.value(bn.buffers) == buffers
    assert stats.value(stats.total) == dense(20, 32) + params


def test_convention_argument_overrides_the_file():
    text = "model m(n = 20):\n    input [n]\n    dense 32\n    batchnorm\n"
    keras, torch = analyze(text), analyze(text, convention="torch")
    assert (keras.value(keras.non_trainable), keras.value(keras.buffers)) == (64, 0)
    assert (torch.value(torch.non_trainable), torch.value(torch.buffers)) == (0, 65)
    n = sym("n")
    assert keras.layers[1].weights[0].shape == (n, 32)     # Keras kernel: (in, units)
    assert torch.layers[1].weights[0].shape == (32, n)     # PyTorch weight: (out, in)


# ---- output-size formulas, numeric and symbolic --------------------------------------

KERAS_CASES = [(n, k, s, d, pad) for n in (7, 8, 13, 32) for k in (1, 2, 3, 5)
               for s in (1, 2, 3) for d in (1, 2) for pad in ("valid", "same")
               if n - d * (k - 1) - 1 >= 0 and (s == 1 or d == 1)]


@pytest.mark.parametrize("n, k, s, d, pad", KERAS_CASES)
def test_keras_conv_length(n, k, s, d, pad):
    stats = run(f"""
        model m():
            input [{n}, 2]
            conv1d 4, {k}, stride = {s}, dilation = {d}, padding = {pad}
        """)
    expected = keras_valid(n, k, s, d) if pad == "valid" else keras_same(n, s)
    assert stats.layers[-1].output_shape == (expected, 4)
    assert stats.value(stats.total) == conv((k,), 2, 4)


TORCH_CASES = [(n, k, s, p, d) for n in (7, 8, 13) for k in (1, 3, 4) for s in (1, 2, 3)
               for p in (0, 1, 2) for d in (1, 2) if n + 2 * p - d * (k - 1) - 1 >= 0]


@pytest.mark.parametrize("n, k, s, p, d", TORCH_CASES)
def test_torch_conv_length(n, k, s, p, d):
    stats = run(f"""
        convention torch
        model m():
            input [2, {n}]
            conv1d 4, {k}, stride = {s}, padding = {p}, dilation = {d}
        """)
    assert stats.layers[-1].output_shape == (4, torch_length(n, k, s, p, d))


@pytest.mark.parametrize("k, s, pad", [(2, 2, "valid"), (3, 2, "valid"), (3, 1, "valid"),
                                       (2, 2, "same"), (3, 2, "same")])
def test_symbolic_lengths_match_the_formula_for_every_size(k, s, pad):
    stats = run(f"""
        model m(H):
            input [H, 1]
            maxpool1d {k}, stride = {s}, padding = {pad}
        """)
    H = sym("H")
    length = stats.layers[-1].output_shape[0]
    if s > 1:  # exact: a floor or a ceiling, never a silent division
        assert length.has(sympy.floor) or length.has(sympy.ceiling)
    for v in range(k, 60):
        expected = keras_valid(v, k, s) if pad == "valid" else keras_same(v, s)
        assert length.subs(H, v) == expected, (v, length)


# ---- the seeds, symbolically ---------------------------------------------------------

def test_seed000_total_symbolically():
    stats = analyze((EXAMPLES / "seed000.symp").read_text(), symbolic=True)
    n, h, k = sym("n"), sym("h"), sym("k")
    assert equal(stats.total, h * (n + 1) + 4 * h + k * (h + 1))
    assert equal(stats.non_trainable, 2 * h)
    assert stats.values == {}


def test_seed000_numbers():
    stats = analyze((EXAMPLES / "seed000.symp").read_text())
    counted = [stats.value(layer.params) for layer in stats.layers if layer.params != 0]
    assert counted == [2_097_664, 2_048, 41_040]
    assert (stats.value(stats.total), stats.value(stats.trainable),
            stats.value(stats.non_trainable)) == (2_140_752, 2_139_728, 1_024)


def test_seed001_keeps_the_floor_of_the_pooling():
    stats = analyze((EXAMPLES / "seed001.symp").read_text(), symbolic=True)
    H, W, C = sym("H"), sym("W"), sym("C")
    pooled = sympy.floor(H / 2) * sympy.floor(W / 2)
    expected = conv(7, C, 32) + 4 * 32 + dense(32 * pooled, 1)
    assert equal(stats.total, expected)
    assert sympy.expand(stats.total).coeff(pooled) == 32
    # Odd sizes really differ from the textbook H*W/4.
    assert stats.total.subs({H: 65, W: 65, C: 3}) == conv(7, 3, 32) + 128 + dense(32 * 32 * 32, 1)
    numbers = analyze((EXAMPLES / "seed001.symp").read_text())
    assert (numbers.value(numbers.total), numbers.value(numbers.trainable),
            numbers.value(numbers.non_trainable)) == (37_633, 37_569, 64)


# ---- the structures against the frameworks themselves ----------------------------------

NET = """
block conv_bn(F):
    conv2d F, 3, padding = same
    batchnorm

model net(H = 16, W = 16, C = 3, M = 5):
    input [H, W, C] as img
    input [M] as meta
    from img
    conv_bn 8
    residual:
        conv_bn 8
    residual:
        conv2d 16, 3, stride = 2, padding = same
    shortcut:
        conv2d 16, 1, stride = 2
    branches concat:
        branch:
            conv2d 4, 1
        branch:
            maxpool2d 3, stride = 1, padding = same
            conv2d 6, 1
    repeat 3:
        conv2d 10, 3, padding = same
    global_avgpool2d
    dense 7
    concat meta
    dense 1
"""


@pytest.mark.oracle
def test_blocks_merges_and_repeats_match_keras(frameworks):
    """The same network written with Keras's functional API: blocks, two inputs,
    residuals with and without a projection, branches, a repeat that keeps the shape."""
    keras = frameworks["keras"]
    L = keras.layers
    img, meta = keras.Input((16, 16, 3)), keras.Input((5,))

    def conv_bn(x, filters):
        return L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(x))

    h = conv_bn(img, 8)
    h = L.Add()([conv_bn(h, 8), h])
    h = L.Add()([L.Conv2D(16, 3, strides=2, padding="same")(h), L.Conv2D(16, 1, strides=2)(h)])
    h = L.Concatenate()([L.Conv2D(4, 1)(h),
                         L.Conv2D(6, 1)(L.MaxPooling2D(3, strides=1, padding="same")(h))])
    for _ in range(3):
        h = L.Conv2D(10, 3, padding="same")(h)
    h = L.Concatenate()([L.Dense(7)(L.GlobalAveragePooling2D()(h)), meta])
    out = L.Dense(1)(h)
    model = keras.Model([img, meta], out)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)

    stats = run(NET)
    assert stats.value(stats.total) == model.count_params()
    assert stats.value(stats.trainable) == trainable
    assert stats.value(stats.non_trainable) == non_trainable
    assert stats.shape_at(stats.layers[-1].output_shape) == tuple(out.shape[1:])
    # Only the input channels and the side input are symbols that change the count.
    C, M = sym("C"), sym("M")
    assert stats.total.free_symbols == {C, M}
    assert sympy.expand(stats.total).coeff(C) == 8 * 9 and sympy.expand(stats.total).coeff(M) == 1


@pytest.mark.oracle
def test_residual_batchnorm_buffers_match_torch(frameworks):
    torch = frameworks["torch"]
    nn = torch.nn
    stats = run("""
        convention torch
        block unit(F):
            conv2d F, 3, padding = 1, bias = false
            batchnorm
        model m(C = 8, H = 10, W = 10):
            input [C, H, W]
            residual:
                unit C
                relu
                unit C
            repeat 2:
                unit C
        """)
    units = [nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
             for _ in range(4)]
    module = nn.Sequential(*units)
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    assert (stats.value(stats.total), stats.value(stats.buffers)) == (params, buffers)
    assert stats.value(stats.non_trainable) == 0


# ---- one formula, every value ----------------------------------------------------------

@pytest.mark.parametrize("H, W, C", [(64, 64, 3), (65, 64, 3), (7, 9, 1), (33, 100, 4)])
def test_symbolic_total_evaluates_to_the_numeric_analysis(H, W, C):
    """The formula derived once, with H, W, C left symbolic, gives at every size what
    an analysis with those numbers from the start gives (and Keras's formulas)."""
    text = (EXAMPLES / "seed001.symp").read_text()
    formula = analyze(text, symbolic=True)
    numbers = analyze(text, values={"H": H, "W": W, "C": C})
    at = {s: v for s, v in zip(formula.symbols, (H, W, C))}
    for part in ("total", "trainable", "non_trainable"):
        assert getattr(formula, part).xreplace(at) == numbers.value(getattr(numbers, part))
    pooled = (keras_valid(H, 2, 2), keras_valid(W, 2, 2))
    assert numbers.value(numbers.total) == conv(7, C, 32) + 4 * 32 + dense(32 * pooled[0]
                                                                           * pooled[1], 1)


# ---- symbols, defaults and values ------------------------------------------------------

DEFAULTS = "model t(d = 512, ff = 4 * d):\n    input [d]\n    dense ff\n    dense d\n"


@pytest.mark.parametrize("kwargs, d, ff", [
    ({}, 512, 2048),                         # the defaults
    ({"values": {"d": 256}}, 256, 1024),     # a default follows the symbols it uses
    ({"values": {"ff": 100}}, 512, 100),     # a value given wins over the default
    ({"values": {"d": 2, "ff": 3}}, 2, 3),
])
def test_defaults_and_values(kwargs, d, ff):
    stats = analyze(DEFAULTS, **kwargs)
    assert stats.value(stats.total) == dense(d, ff) + dense(ff, d)
    assert {s.name: int(v) for s, v in stats.values.items()} == {"d": d, "ff": ff}


def test_symbolic_ignores_the_defaults():
    stats = analyze(DEFAULTS, symbolic=True)
    d, ff = sym("d"), sym("ff")
    assert equal(stats.total, dense(d, ff) + dense(ff, d))
    assert stats.value(stats.total) is None
    partly = analyze(DEFAULTS, symbolic=True, values={"d": 2})
    assert equal(partly.at(partly.total), dense(2, ff) + dense(ff, 2))


@pytest.mark.parametrize("count", [1, 2, 5])
def test_a_counted_repeat_equals_its_body_written_out(count):
    body = ("        residual:\n            conv2d C, 3, padding = same\n            batchnorm\n"
            "        relu\n")
    head = "model m(C = 8, H = 6, W = 6):\n    input [H, W, C]\n"
    repeated = analyze(head + f"    repeat {count}:\n" + body, symbolic=True)
    written = analyze(head + ("    repeat 1:\n" + body) * count, symbolic=True)
    for part in ("total", "trainable", "non_trainable"):
        assert equal(getattr(repeated, part), getattr(written, part))
    C = sym("C")
    assert equal(repeated.total, count * (conv(3, C, C) + 4 * C))
