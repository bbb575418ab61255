"""Window attention (Swin's shifted windows, relative-position-bias tables) and
space-to-depth (Swin's patch merging), against torchvision.

Ground truth: torchvision's own ``ShiftedWindowAttention`` built at small random sizes
(its parameters' and buffers' names, shapes and counts; PyTorch's FlopCounterMode on
its forward pass for the MACs, padding and shifts included), the whole
``torchvision.models.swin_t`` (its published 28,288,354 parameters and ``_ops``), and
the differential oracle's Keras layer written after keras.io's Swin example (whose
``relative_position_index`` is a non-trainable ``keras.Variable``).

Without torchvision (or torch and keras) these tests skip, saying why; with ``CI`` set
they fail instead.
"""
from __future__ import annotations

import os
import random

import pytest

import symparam
from symparam import SymparamError
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")


def _need(what: str, err: Exception):
    msg = f"these tests need {what}: {err}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
    pytest.skip(msg)


def _ints(s, shape) -> tuple:
    return tuple(s.value(d) for d in shape)


def _flops(module, x) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


def _layer(h, w, c, heads, window, shift, qkv_bias=True, proj_bias=True,
           convention="torch"):
    bias = "" if qkv_bias and proj_bias else (
        f", qkv_bias = {str(qkv_bias).lower()}, proj_bias = {str(proj_bias).lower()}")
    return (f"convention {convention}\nmodel m(H = {h}, W = {w}, C = {c}):\n"
            f"    layout channels_last\n    input [H, W, C]\n"
            f"    window_attention {heads}, [{window[0]}, {window[1]}], "
            f"shift = [{shift[0]}, {shift[1]}]{bias}\n")


def _cases(n=10):
    rng = random.Random(1010)
    for _ in range(n):
        heads = rng.randint(1, 4)
        c = heads * rng.randint(1, 6)
        window = (rng.randint(1, 5), rng.randint(1, 5))
        shift = tuple(rng.randint(0, m - 1) for m in window)
        # sizes below, at and above the window, multiples or not (torchvision pads)
        h, w = rng.randint(1, 12), rng.randint(1, 12)
        yield h, w, c, heads, window, shift, rng.random() < 0.7, rng.random() < 0.7


@pytest.mark.oracle
@pytest.mark.parametrize("case", list(_cases()))
def test_random_layers_against_torchvision(case, torchvision):
    import torch
    from torchvision.models.swin_transformer import ShiftedWindowAttention
    h, w, c, heads, window, shift, qkv_bias, proj_bias = case
    module = ShiftedWindowAttention(c, list(window), list(shift), heads, qkv_bias=qkv_bias,
                                    proj_bias=proj_bias).eval()
    s = symparam.analyze(_layer(*case))
    layer = s.layers[1]
    named = {n: tuple(t.shape) for n, t in (*module.named_parameters(),
                                            *module.named_buffers())}
    assert {wt.name: _ints(s, wt.shape) for wt in layer.weights} == named
    assert s.value(s.total) == sum(p.numel() for p in module.parameters())
    assert s.value(s.buffers) == sum(b.numel() for b in module.buffers())
    assert _ints(s, layer.output_shape) == (h, w, c)
    assert 2 * 2 * s.value(s.macs) == _flops(module, torch.zeros(2, h, w, c))  # batch 2


def test_counts_and_cost_by_hand():
    # 14 x 14 x 96, 3 heads, windows of 7: qkv 96 x 288 + 288, proj 96 x 96 + 96,
    # table 13 x 13 x 3; 4 windows of 49 positions: 196 x (4 x 96² + 2 x 49 x 96).
    s = symparam.analyze(_layer(14, 14, 96, 3, (7, 7), (3, 3)))
    assert s.value(s.total) == 96 * 288 + 288 + 96 * 96 + 96 + 169 * 3 == 37_755
    assert s.value(s.buffers) == 49 * 49
    assert s.value(s.macs) == 196 * (4 * 96**2 + 2 * 49 * 96)
    # 10 x 10 is padded to 14 x 14: the same cost, the same weights.
    padded = symparam.analyze(_layer(10, 10, 96, 3, (7, 7), (3, 3)))
    assert padded.value(padded.macs) == s.value(s.macs)
    assert _ints(padded, padded.layers[1].output_shape) == (10, 10, 96)


def _elementwise(h, w, shift):
    s = symparam.analyze(_layer(h, w, 8, 2, (7, 7), shift))
    return s.value(s.layers[1].cost.elementwise)


def test_shift_mask_counted_only_where_torchvision_keeps_the_shift():
    scores = 2 * 196 * 49  # heads x padded positions x window positions
    assert _elementwise(14, 14, (3, 3)) - _elementwise(14, 14, (0, 0)) == scores
    assert _elementwise(14, 7, (0, 3)) == _elementwise(14, 7, (0, 0))
    # 7 x 7 in windows of 7: torchvision drops the shift (Swin-T's last stage).
    assert _elementwise(7, 7, (3, 3)) == _elementwise(7, 7, (0, 0))


def test_keras_counts_the_index_as_non_trainable():
    s = symparam.analyze(_layer(14, 14, 96, 3, (7, 7), (3, 3), convention="keras"))
    assert (s.value(s.trainable), s.value(s.non_trainable), s.value(s.buffers)) == (
        37_755, 49 * 49, 0)
    assert [w.name for w in s.layers[1].weights] == [
        "qkv/kernel", "qkv/bias", "proj/kernel", "proj/bias",
        "relative_position_bias_table", "relative_position_index"]


@pytest.mark.oracle
@pytest.mark.parametrize("convention", ["torch", "keras"])
@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_differential_oracle(convention, layout, frameworks):
    from oracle.check import check
    shape = "[H, W, C]" if layout == "channels_last" else "[C, H, W]"
    src = (f"convention {convention}\nmodel m(H = 9, W = 6, C = 8):\n"
           f"    layout {layout}\n    input {shape}\n"
           f"    window_attention 2, [4, 3], shift = [2, 1], qkv_bias = false\n"
           f"    space_to_depth 2, pad = true\n"
           f"    window_attention 4, 3\n"
           f"    space_to_depth 5, pad = true\n"
           f"    space_to_depth 1\n")
    assert check(src) == []


def test_space_to_depth_shapes():
    s = symparam.analyze("model m(H = 8, W = 6, C = 3):\n    input [H, W, C]\n"
                         "    space_to_depth 2\n")
    assert _ints(s, s.layers[1].output_shape) == (4, 3, 12)
    odd = symparam.analyze("model m(H = 7, W = 5, C = 3):\n    input [H, W, C]\n"
                           "    space_to_depth 2, pad = true\n")
    assert _ints(odd, odd.layers[1].output_shape) == (4, 3, 12)


@pytest.mark.parametrize("src, message", [
    ("model m():\n    input [8, 6, 3]\n    space_to_depth 4\n",
     r"line 3.*the size 6 is not a multiple of the block 4 \(pad = true"),
    ("model m(H = 8):\n    input [H, 8, 3]\n    space_to_depth 4\n",
     None),  # deferred: fine at H = 8, refused at H = 6 below
    ("model m(C = 6):\n    input [7, 7, C]\n    window_attention 4, 7\n",
     r"line 3.*the channels C must be divisible by 4 heads.*C = 6"),
    ("model m():\n    input [7, 7, 8]\n    window_attention 2, 7, shift = 7\n",
     r"line 3.*the shift of the rows \(7\) must be smaller than the window \(7\)"),
    ("model m():\n    input [7, 8]\n    window_attention 2, 7\n",
     r"line 3.*window_attention needs an input of at least 3 dimension"),
    ("model m():\n    input [7, 7, 7, 8]\n    window_attention 2, 7\n",
     r"line 3.*window_attention expects a 3-D input per example \(spatial, spatial, channels\)"),
])
def test_refusals(src, message):
    if message is None:
        symparam.analyze(src)
        with pytest.raises(SymparamError, match=r"line 3.*space_to_depth: the size H must "
                                                r"be a multiple of the block 4.*H = 6"):
            symparam.analyze(src, values={"H": 6})
        return
    with pytest.raises(SymparamError, match=message):
        symparam.analyze(src)


def test_cli_refuses_with_exit_2(tmp_path):
    from click.testing import CliRunner

    from symparam.cli import main
    path = tmp_path / "m.symp"
    path.write_text("model m(C = 6):\n    input [7, 7, C]\n    window_attention 4, 7\n")
    result = CliRunner().invoke(main, ["count", str(path)])
    assert result.exit_code == 2
    assert "divisible by 4 heads" in result.output and "Traceback" not in result.output


# ---- the whole model -----------------------------------------------------------------

def test_swin_t_zoo_counts_published():
    s = symparam.analyze((ZOO / "swin_t.symp").read_text(encoding="utf-8"))
    # torchvision's Swin_T_Weights.IMAGENET1K_V1.meta: num_params 28,288,354, _ops 4.491
    assert (s.value(s.total), s.value(s.trainable), s.value(s.non_trainable)) == (
        28_288_354, 28_288_354, 0)
    assert s.value(s.buffers) == 12 * 49 * 49
    assert round(s.value(s.macs) / 1e9, 3) == 4.491


@pytest.fixture(scope="module")
def swin_t(torchvision):
    return torchvision.models.swin_t().eval()


@pytest.mark.oracle
def test_swin_t_counts_against_torchvision(swin_t):
    s = symparam.analyze((ZOO / "swin_t.symp").read_text(encoding="utf-8"))
    assert s.value(s.total) == sum(p.numel() for p in swin_t.parameters())
    assert s.value(s.trainable) == sum(p.numel() for p in swin_t.parameters()
                                       if p.requires_grad)
    assert s.value(s.buffers) == sum(b.numel() for b in swin_t.buffers())


@pytest.mark.oracle
@pytest.mark.parametrize("h, w", [(224, 224), (200, 200), (232, 168)])
def test_swin_t_macs_against_flop_counter(h, w, swin_t):
    """At 224 the windows tile every stage; at 200 (feature maps 50, 25, 13, 7) and
    232 x 168 torchvision pads the windows and the odd sizes before patch merging."""
    import torch
    s = symparam.analyze((ZOO / "swin_t.symp").read_text(encoding="utf-8"),
                         values={"H": h, "W": w})
    assert 2 * s.value(s.macs) == _flops(swin_t, torch.zeros(1, 3, h, w))


# ---- axial attention: attention along chosen axes --------------------------------------

AXIAL = [
    ("[H, W, C]", "attention 4, 4, axis = 1", dict(H=6, W=5, C=16)),
    ("[H, W, C]", "attention 2, 8, axis = -2", dict(H=3, W=7, C=16)),
    ("[T, H, W, C]", "attention 2, 4, axes = [2, 3]", dict(T=3, H=4, W=2, C=8)),
    ("[H, W, C]", "attention 4, kv_heads = 2, axis = 2", dict(H=5, W=6, C=16)),
]


def _axial_src(shape, call, values, convention):
    symbols = ", ".join(f"{k} = {v}" for k, v in values.items())
    return (f"convention {convention}\nmodel m({symbols}):\n    input {shape}\n"
            f"    {call}\n")


@pytest.mark.oracle
@pytest.mark.parametrize("shape, call, values", AXIAL)
@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_axial_attention_against_the_frameworks(shape, call, values, convention,
                                                frameworks):
    """Keras's MultiHeadAttention(attention_axes=...) and PyTorch's attention applied
    to each line along the axes (the others folded into the batch)."""
    from oracle.check import check
    src = _axial_src(shape, call, values, convention)
    if convention == "keras" and "kv_heads" in call:
        with pytest.raises(SymparamError, match="axis is an option of Keras's "
                                                "MultiHeadAttention, not of GroupQuery"):
            symparam.analyze(src)
        return
    assert check(src) == []


def test_axial_attention_cost():
    # Along H of (H, W, C): W lines of H positions, each scoring H keys per head.
    s = symparam.analyze(_axial_src("[H, W, C]", "attention 4, axis = 1",
                                    dict(H=6, W=5, C=16), "torch"))
    e, h, w = 16, 6, 5
    assert s.value(s.macs) == 4 * h * w * e * e + 2 * w * h * h * e
    everywhere = symparam.analyze(_axial_src("[H, W, C]", "attention 4, 4",
                                             dict(H=6, W=5, C=16), "keras"))
    n = h * w
    assert everywhere.value(everywhere.macs) == 4 * n * e * e + 2 * n * n * e


@pytest.mark.oracle
def test_axial_attention_cost_against_flop_counter(frameworks):
    import torch
    h, w, e, heads = 6, 5, 16, 4
    # in training mode (dropout 0): no fused fast path, QK^T and AV run as bmm
    mha = torch.nn.MultiheadAttention(e, heads, batch_first=True)
    lines = torch.zeros(2 * w, h, e)  # a batch of 2, W lines of H positions each
    counted = _flops(lambda x: mha(x, x, x, need_weights=True), lines)
    s = symparam.analyze(_axial_src("[H, W, C]", "attention 4, axis = 1",
                                    dict(H=h, W=w, C=e), "torch"))
    assert counted == 2 * 2 * s.value(s.macs)


@pytest.mark.parametrize("call, message", [
    ("attention 4, 4, axis = 3", r"line 4.*axis 3 of \(None, H, W, C\) holds the features"),
    ("attention 4, 4, axis = 4", r"line 4.*axis 4 is out of range for a 3-D input"),
    ("attention 4, 4, axis = 0", r"line 4.*axis 0 is out of range"),
    ("attention 4, 4, axes = [1, -3]", r"line 4.*axes \[1, -3\] name an axis twice"),
])
def test_axial_attention_refusals(call, message):
    with pytest.raises(SymparamError, match=message):
        symparam.analyze(_axial_src("[H, W, C]", call, dict(H=6, W=5, C=16), "keras"))


def test_torch_attention_on_an_image_needs_an_axis():
    with pytest.raises(SymparamError, match=r"MultiheadAttention takes a sequence .*axis = "):
        symparam.analyze(_axial_src("[H, W, C]", "attention 4", dict(H=6, W=5, C=16),
                                    "torch"))
