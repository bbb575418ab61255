"""Frozen weights (`frozen:`, `trainable = false`), free learned tensors (`param`) and
Keras's `normalization`, checked against Keras 3 and PyTorch 2.13 building the same
models (`layer.trainable = False`, `requires_grad_(False)`, `add_weight`,
`nn.Parameter`), the zoo's ViT-B/16 and ConvNeXt-T against torchvision, and random
models with frozen layers and params against both frameworks."""
from __future__ import annotations

import os
import random

import pytest

import symparam
from symparam import SymparamError
from symparam.analysis.memory import training_memory
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")


def counts(stats) -> tuple:
    return tuple(stats.value(getattr(stats, k))
                 for k in ("total", "trainable", "non_trainable", "buffers"))


# ---- frameworks ------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ.get("CI") != "true":
        pytest.importorskip("keras", reason="Keras 3 is the oracle (pip install keras)")
    import keras
    return keras


@pytest.fixture(scope="module")
def torch():
    if os.environ.get("CI") != "true":
        pytest.importorskip("torch", reason="PyTorch is the oracle (pip install torch)")
    import torch
    return torch


def keras_counts(model) -> tuple:
    import numpy as np
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = model.count_params()
    return total, trainable, total - trainable, 0


def torch_counts(module) -> tuple:
    params = list(module.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return total, trainable, total - trainable, sum(b.numel() for b in module.buffers())


# ---- a LoRA-style adapter and a frozen tower ---------------------------------------

LORA = """
model lora(d = 64, r = 4, k = 10):
    input [d] as x
    dense d, trainable = false as base
    from x
    dense r, bias = false as lora_a
    dense d, bias = false as lora_b
    add base
    dense k
"""


def test_lora_against_keras(keras):
    x = keras.Input((64,))
    base = keras.layers.Dense(64)
    base.trainable = False
    y = keras.layers.Add()([keras.layers.Dense(64, use_bias=False)(
        keras.layers.Dense(4, use_bias=False)(x)), base(x)])
    model = keras.Model(x, keras.layers.Dense(10)(y))
    assert counts(symparam.analyze(LORA)) == keras_counts(model) == (5322, 1162, 4160, 0)


def test_lora_against_pytorch(torch):
    nn = torch.nn
    base = nn.Linear(64, 64).requires_grad_(False)
    module = nn.ModuleList([base, nn.Linear(64, 4, bias=False), nn.Linear(4, 64, bias=False),
                            nn.Linear(64, 10)])
    assert counts(symparam.analyze(LORA, convention="torch")) == torch_counts(module)


TOWER = """
model tower(H = 16, W = 16, C = 3, f = 8, k = 5):
    input [H, W, C]
    frozen:
        conv2d f, 3, padding = same
        batchnorm
        relu
        conv2d 2 * f, 3, padding = same
        batchnorm
    global_avgpool2d
    dense k
"""


def test_frozen_tower_against_keras(keras):
    kl = keras.layers
    x = keras.Input((16, 16, 3))
    tower = [kl.Conv2D(8, 3, padding="same"), kl.BatchNormalization(), kl.ReLU(),
             kl.Conv2D(16, 3, padding="same"), kl.BatchNormalization()]
    y = x
    for layer in tower:
        layer.trainable = False
        y = layer(y)
    model = keras.Model(x, kl.Dense(5)(kl.GlobalAveragePooling2D()(y)))
    assert counts(symparam.analyze(TOWER)) == keras_counts(model)


def test_frozen_tower_against_pytorch(torch):
    nn = torch.nn
    tower = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16))
    tower.requires_grad_(False)
    module = nn.Sequential(tower, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    got = counts(symparam.analyze(TOWER, convention="torch"))
    # The batch norms' running statistics stay buffers (not parameters), frozen or not.
    assert got == torch_counts(module) == (1525, 85, 1440, 50)


def test_training_memory_follows_the_trainable_weights():
    s = symparam.analyze(LORA)
    total, trainable = s.value(s.total), s.value(s.trainable)
    t = training_memory(s, "adam", "fp32")
    rows = {name: s.value(count) for name, _, count, _ in t.parts}
    assert rows["weights"] == total
    assert rows["gradients"] == rows["optimizer moments m and v"] == trainable
    assert s.value(t.total) == 4 * total + 4 * trainable + 8 * trainable


# ---- every kind, blocks, repeats, sharing --------------------------------------------

def test_trainable_false_on_any_kind_and_on_a_block():
    src = """
block mlp(u):
    dense u
    layernorm

model m(n = 6, u = 5):
    input [n]
    mlp u, trainable = false
    prelu trainable = false
    dropout 0.5, trainable = false
    mlp u
"""
    s = symparam.analyze(src)
    frozen = 5 * 7 + 10 + 5  # dense, layernorm, prelu
    assert counts(s) == (frozen + 5 * 6 + 10, 5 * 6 + 10, frozen, 0)


def test_trainable_true_and_block_parameters_named_trainable():
    src = """
block b(u, trainable = true):
    dense u, trainable = trainable

model m(n = 4):
    input [n]
    b 3, trainable = false
    b 2
    dense 2, trainable = true
"""
    s = symparam.analyze(src)
    assert counts(s) == (15 + 8 + 6, 14, 15, 0)


def test_frozen_in_a_rolled_repeat():
    src = "model m(d = 8, L = 6):\n    input [d]\n    repeat L:\n        frozen:\n" \
          "            dense d\n    dense d\n"
    s = symparam.analyze(src, symbolic=True)
    d, L = (next(x for x in s.symbols if x.name == n) for n in ("d", "L"))
    assert s.non_trainable == L * d * (d + 1)
    assert s.trainable == d * (d + 1)


def test_freezing_a_user_of_a_shared_weight_freezes_it_where_it_is_made():
    tied = """
model lm(V = 100, d = 8, T = 7):
    input [T]
    embedding V, d as wte
    dense V, bias = false, tie = wte, trainable = false
"""
    for convention in ("keras", "torch"):
        assert counts(symparam.analyze(tied, convention=convention)) == (800, 0, 800, 0)
    reused = """
model siamese(n = 6):
    input [n] as a
    input [n] as b
    dense 4 as enc
    from b
    reuse enc, trainable = false
    add enc
"""
    assert counts(symparam.analyze(reused)) == (28, 0, 28, 0)


def test_buffers_stay_buffers_and_statistics_stay_non_trainable():
    src = "model m(n = 4):\n    input [n]\n    frozen:\n        batchnorm\n"
    assert counts(symparam.analyze(src)) == (16, 0, 16, 0)
    assert counts(symparam.analyze(src, convention="torch")) == (8, 0, 8, 9)


# ---- params ---------------------------------------------------------------------------

CLS = """
model vit(T = 196, d = 768):
    input [T, d]
    param [1, 1, d] as cls
    concat cls, axis = 1
    param [1, T + 1, d] as pos
    add pos
    param [d] as gamma
    multiply gamma
    param [1, T + 1, d], buffer = true as table
    add table
"""


def test_params_broadcast_into_merges():
    for convention, expected in (("keras", (2 * 768 + 2 * 197 * 768, 2 * 768 + 197 * 768,
                                            197 * 768, 0)),
                                 ("torch", (2 * 768 + 197 * 768, 2 * 768 + 197 * 768, 0,
                                            197 * 768))):
        s = symparam.analyze(CLS, convention=convention)
        assert counts(s) == expected
        assert s.shape_at(s.layers[-1].output_shape) == (197, 768)
    s = symparam.analyze(CLS, convention="torch")
    kinds = {layer.name: (layer.kind, layer.type) for layer in s.layers}
    assert kinds["cls"] == ("param", "Parameter") and kinds["table"] == ("param", "Buffer")
    assert s.value(s.macs) == 0 and not s.uncounted


def test_class_token_and_position_embedding_against_keras_add_weight(keras):
    """Keras's ViT-style layer: add_weight((1, 1, d)), broadcast over the batch."""
    ops = keras.ops

    class Tokens(keras.layers.Layer):
        def build(self, shape):
            self.cls = self.add_weight(shape=(1, 1, shape[-1]))
            self.pos = self.add_weight(shape=(1, shape[1] + 1, shape[-1]), trainable=False)

        def call(self, x):
            cls = ops.broadcast_to(self.cls, (ops.shape(x)[0], 1, ops.shape(x)[-1]))
            return ops.concatenate([cls, x], axis=1) + self.pos

    x = keras.Input((196, 32))
    model = keras.Model(x, Tokens()(x))
    src = ("model m(T = 196, d = 32):\n    input [T, d]\n    param [1, 1, d] as cls\n"
           "    concat cls, axis = 1\n    param [1, T + 1, d], trainable = false as pos\n"
           "    add pos\n")
    s = symparam.analyze(src)
    assert counts(s) == keras_counts(model)
    assert tuple(model.output.shape[1:]) == s.shape_at(s.layers[-1].output_shape)


@pytest.mark.parametrize("src, message", [
    ("    param [1, d]\n", "a param needs a name"),
    ("    param 3 as p\n", "write `param"),
    ("    param [d], bias = true as p\n", "unknown argument 'bias' for param"),
    ("    param [d] as p\n    from p\n", "learned tensor (param), not the data"),
    ("    param [2, T, d] as p\n    add p\n", "must be 1, not 2"),
    ("    param [1, 1, 1, d] as p\n    add p\n", "more axes than the data"),
    ("    param [d] as p\n    concat p, axis = 1\n", "needs 3 axes"),
    ("    param [0] as p\n", "param dimension"),
    ("    param [d], buffer = 1 as p\n", "buffer: expected true or false"),
    ("    dense 3, trainable = 1\n", "trainable: expected true or false"),
    ("    dense 3, trainable = flase\n", "did you mean 'false'"),
    ("    dense 3, trainable = false, trainable = true\n", "given twice"),
    ("    param [1, 5, d] as p\n    add p\n", "must equal"),
    ("    param [1, T, d] as p\n    attention 2, 4, key = p\n", "learned tensor (param)"),
])
def test_refused_with_one_message_at_its_line(src, message):
    text = "model m(T = 4, d = 8):\n    input [T, d]\n" + src
    with pytest.raises(SymparamError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        symparam.analyze(text)


def test_frozen_is_a_keyword():
    with pytest.raises(SymparamError, match="keyword"):
        symparam.analyze("model m(frozen = 3):\n    input [frozen]\n")


# ---- Keras's Normalization -------------------------------------------------------------

@pytest.mark.parametrize("shape, axis", [((7,), None), ((5, 7), -1), ((5, 7), None),
                                         ((5, 7), 1), ((4, 5, 3), (1, 2)),
                                         ((4, 5, 3), (-1, 1))])
def test_normalization_against_keras(keras, shape, axis):
    x = keras.Input(shape)
    kw = {} if axis == -1 else {"axis": axis}
    model = keras.Model(x, keras.layers.Normalization(**kw)(x))
    written = "" if axis == -1 else (" axis = none" if axis is None else
                                     f" axis = {list(axis) if isinstance(axis, tuple) else axis}")
    src = f"model m():\n    input {list(shape)}\n    normalization{written}\n"
    s = symparam.analyze(src)
    assert counts(s) == keras_counts(model)
    assert s.value(s.trainable) == 0


def test_normalization_is_refused_under_torch():
    with pytest.raises(SymparamError, match="PyTorch has no Normalization layer"):
        symparam.analyze("model m():\n    input [3]\n    normalization\n", convention="torch")


# ---- the zoo against torchvision -------------------------------------------------------

@pytest.mark.parametrize("name, builder, weights, params", [
    ("vit_b16", "vit_b_16", "ViT_B_16_Weights",
     {"class_token": (1, 1, 768), "encoder.pos_embedding": (1, 197, 768)}),
    ("convnext_tiny", "convnext_tiny", "ConvNeXt_Tiny_Weights",
     {"features.1.0.layer_scale": (96, 1, 1), "features.7.2.layer_scale": (768, 1, 1)}),
])
def test_zoo_against_torchvision(torchvision, torch, name, builder, weights, params):
    module = getattr(torchvision.models, builder)()
    meta = getattr(torchvision.models, weights).IMAGENET1K_V1.meta
    s = symparam.analyze(ZOO / f"{name}.symp")
    assert counts(s) == torch_counts(module) == (meta["num_params"], meta["num_params"], 0, 0)
    shapes = dict(module.named_parameters())
    for param, shape in params.items():
        assert tuple(shapes[param].shape) == shape
    param_shapes = sorted(tuple(s.shape_at(w.shape)) for layer in s.layers
                          if layer.kind == "param" for w in layer.weights
                          for _ in range(s.value(layer.multiplier)))  # a repeat's copies
    assert param_shapes == sorted(tuple(p.shape) for n, p in module.named_parameters()
                                  if "layer_scale" in n or n in params)
    # torchvision's _ops (GMACs, three decimals) count the convolutions, the linear
    # layers and attention's two products, as symparam's MACs do; the element-wise
    # products (a layer scale, the adds) are counted apart by both.
    assert round(s.value(s.macs) / 1e9, 3) == meta["_ops"]


# ---- random models with frozen layers and params, against both frameworks --------------

def _random_model(rng: random.Random):
    """A random model (text) and the layers to build: each layer is (kind, size, frozen)."""
    d = rng.randint(2, 9)
    T = rng.randint(1, 6)
    lines = [f"model r(T = {T}, d = {d}):", "    input [T, d]"]
    plan, width = [], d
    for i in range(rng.randint(1, 6)):
        kind = rng.choice(("dense", "layernorm", "param_add", "param_mul", "cls", "frozen2"))
        frozen = rng.random() < 0.4
        flag = ", trainable = false" if frozen else ""
        if kind == "dense":
            width = rng.randint(1, 9)
            lines.append(f"    dense {width}{flag}")
        elif kind == "layernorm":
            lines.append(f"    layernorm{' ' + flag[2:] if frozen else ''}")
        elif kind in ("param_add", "param_mul"):
            shape = rng.choice(([width], [1, width], [T, width], [1, T, width], [1, 1, width]))
            buffer = rng.random() < 0.2
            opts = flag + (", buffer = true" if buffer else "")
            lines.append(f"    param {shape}{opts} as p{i}")
            lines.append(f"    {'add' if kind == 'param_add' else 'multiply'} p{i}")
            kind = (kind, tuple(shape), buffer)
        elif kind == "cls":
            lines.append(f"    param [1, 1, {width}]{flag} as p{i}")
            lines.append(f"    concat p{i}, axis = 1")
            T += 1
        else:
            width2 = rng.randint(1, 9)
            lines += ["    frozen:", f"        dense {width2}", "        layernorm"]
            frozen, width = True, width2
            kind = ("frozen2", width2)
        plan.append((kind, width, frozen))
    return "\n".join(lines) + "\n", plan, d


def _keras_model(keras, plan, d, T):
    kl = keras.layers

    class Param(kl.Layer):
        def __init__(self, shape, op, trainable_weight, **kw):
            super().__init__(**kw)
            self.shape_, self.op, self.trainable_weight = shape, op, trainable_weight

        def build(self, input_shape):
            self.w = self.add_weight(shape=self.shape_, trainable=self.trainable_weight)

        def call(self, x):
            ops = keras.ops
            if self.op == "concat":
                return ops.concatenate([x, ops.broadcast_to(
                    self.w, (ops.shape(x)[0],) + tuple(self.shape_[1:]))], axis=1)
            return x + self.w if self.op == "add" else x * self.w

    x = keras.Input((T, d))
    y = x
    for kind, width, frozen in plan:
        if kind == "dense":
            layers = [kl.Dense(width)]
        elif kind == "layernorm":
            layers = [kl.LayerNormalization()]
        elif kind == "cls":
            layers = [Param((1, 1, width), "concat", True)]
        elif kind[0] == "frozen2":
            layers = [kl.Dense(width), kl.LayerNormalization()]
        else:
            op = "add" if kind[0] == "param_add" else "mul"
            layers = [Param(kind[1], op, not kind[2])]
        for layer in layers:
            if frozen:
                layer.trainable = False
            y = layer(y)
    return keras.Model(x, y)


def _torch_module(torch, plan, d):
    nn = torch.nn
    module, width = nn.Module(), d
    for i, (kind, new_width, frozen) in enumerate(plan):
        if kind == "dense":
            part = nn.Linear(width, new_width)
        elif kind == "layernorm":
            part = nn.LayerNorm(width)
        elif kind == "cls":
            part = nn.Module()
            part.p = nn.Parameter(torch.zeros(1, 1, width))
        elif kind[0] == "frozen2":
            part = nn.Sequential(nn.Linear(width, new_width), nn.LayerNorm(new_width))
        else:
            part = nn.Module()
            if kind[2]:
                part.register_buffer("p", torch.zeros(kind[1]))
            else:
                part.p = nn.Parameter(torch.zeros(kind[1]))
        if frozen:
            part.requires_grad_(False)
        module.add_module(f"m{i}", part)
        width = new_width
    return module


def test_random_frozen_and_param_models_against_both_frameworks(keras, torch):
    import warnings
    warnings.filterwarnings("ignore", module="keras")
    rng = random.Random(int(os.environ.get("SYMPARAM_FROZEN_SEED", "20261201")))
    for _ in range(int(os.environ.get("SYMPARAM_FROZEN_COUNT", "40"))):
        text, plan, d = _random_model(rng)
        T = int(text.split("T = ")[1].split(",")[0])
        try:
            ks = symparam.analyze(text)
        except SymparamError as err:  # a shape the merge refuses: Keras refuses it too
            with pytest.raises(Exception):  # noqa: B017 - any refusal of the framework
                _keras_model(keras, plan, d, T)
            assert "must equal" in str(err) or "cannot" in str(err), (text, err)
            continue
        assert counts(ks) == keras_counts(_keras_model(keras, plan, d, T)), text
        ts = symparam.analyze(text, convention="torch")
        assert counts(ts) == torch_counts(_torch_module(torch, plan, d)), text


def test_convnext_tiny_against_keras_applications(keras):
    """keras.applications.ConvNeXtTiny(weights=None): its LayerScale layers hold a
    (C,) gamma (symparam's torch-layout file writes torchvision's C x 1 x 1: the same
    count); its preprocessing Normalization is given constant statistics, no weights."""
    model = keras.applications.ConvNeXtTiny(weights=None)
    s = symparam.analyze(ZOO / "convnext_tiny.symp", convention="keras")
    assert counts(s) == keras_counts(model) == (28_589_128, 28_589_128, 0, 0)
    scales = [layer for layer in model.layers if type(layer).__name__ == "LayerScale"]
    assert len(scales) == sum(s.value(layer.multiplier) for layer in s.layers
                              if layer.kind == "param")


def test_language_md_states_the_counts_of_its_examples():
    import re
    text = (resource_dir("grammar").parent / "docs" / "language.md").read_text()
    blocks = re.findall(r"```symparam\n(.*?)```", text, re.S)
    adapted = next(b for b in blocks if "model adapted" in b)
    assert counts(symparam.analyze(adapted)) == (540_682, 13_322, 527_360, 0)
    assert counts(symparam.analyze(adapted, convention="torch")) == \
        (539_658, 13_322, 526_336, 1_025)
    tokens = next(b for b in blocks if "model vit_tokens" in b)
    assert counts(symparam.analyze(tokens)) == (13_568, 13_568, 0, 0)
    for number in ("540,682", "527,360", "13,322", "539,658", "526,336", "13,568"):
        assert number in text


SWIN_ATTENTION = """
convention torch

model window_attention(M = 7, d = 96, heads = 3):
    input [M * M, d]
    param [(2 * M - 1) ** 2, heads] as relative_position_bias_table
    param [M ** 4], buffer = true as relative_position_index
    attention heads, d / heads
"""


def test_a_bias_table_and_its_index_against_torchvision_swin(torchvision):
    """Swin's window attention: a learned (2M - 1)^2 x heads table that no merge uses
    (it is added to the scores) and a relative_position_index buffer of M^4 indices."""
    from torchvision.models.swin_transformer import ShiftedWindowAttention
    module = ShiftedWindowAttention(96, [7, 7], [3, 3], 3)
    assert counts(symparam.analyze(SWIN_ATTENTION)) == torch_counts(module)
    # Under Keras the index is a non-trainable weight (Keras has no buffers), and the
    # table counts although no merge uses it, as a weight add_weight made.
    s = symparam.analyze(SWIN_ATTENTION, convention="keras")
    assert counts(s)[2:] == (7 ** 4, 0) and not s.unreached


def test_a_derivation_of_a_model_the_other_convention_refuses_keeps_its_params():
    src = ("model m(n = 4):\n    input [n]\n    normalization\n    param [n] as g\n"
           "    multiply g\n")
    from symparam.render import derivation
    text = derivation(symparam.analyze(src), "text")
    assert "a tensor the model holds" in text and "shares weights" not in text


def test_frozen_around_a_repeat_and_a_block_call():
    src = """
block pair(u):
    dense u
    dense u

model m(d = 6, L = 3):
    input [d]
    frozen:
        repeat L:
            dense d
        pair d
    dense d
"""
    s = symparam.analyze(src)
    assert counts(s) == (6 * 42, 42, 5 * 42, 0)
    assert counts(symparam.analyze(src, convention="torch")) == (6 * 42, 42, 5 * 42, 0)


def test_a_param_is_shown_without_a_batch_axis():
    from symparam.render import model_dict, summary_text
    s = symparam.analyze(CLS)
    row = next(line for line in summary_text(s).splitlines() if line.startswith(" cls "))
    assert "(1, 1, 768)" in row and "None" not in row
    layer = next(x for x in model_dict(s)["layers"] if x["name"] == "cls")
    assert layer["output_shape"] == ["1", "1", "768"]


@pytest.fixture(scope="module")
def transformers(hf_transformers):  # conftest: torchvision first, skips without them
    from transformers.models.t5 import modeling_t5  # noqa: F401
    from transformers.models.whisper import modeling_whisper  # noqa: F401
    return hf_transformers


def test_t5s_relative_attention_bias_against_transformers(transformers, torch):
    """T5's first block holds relative_attention_bias, an Embedding(buckets, heads)
    that is added to the scores: a param no merge uses."""
    from transformers import T5Config
    from transformers.models.t5.modeling_t5 import T5Attention
    src = ("convention torch\n\nmodel t5_attention(T = 16, d = 512, heads = 8, d_kv = 64, "
           "buckets = 32):\n    input [T, d]\n    param [buckets, heads] as "
           "relative_attention_bias\n    attention heads, kv_heads = heads, head_dim = d_kv,"
           " bias = false\n")
    config = T5Config(d_model=512, d_kv=64, num_heads=8, relative_attention_num_buckets=32)
    with torch.device("meta"):
        attention = T5Attention(config, has_relative_attention_bias=True)
    assert counts(symparam.analyze(src)) == torch_counts(attention)
    assert counts(symparam.analyze(src, convention="keras"))[0] == torch_counts(attention)[0]


WHISPER_ENCODER = """
convention torch

block encoder_layer(d, heads, ffn):
    residual:
        layernorm as self_attn_layer_norm
        attention heads, kv_heads = heads, k_bias = false as self_attn
    residual:
        layernorm as final_layer_norm
        dense ffn as fc1
        gelu
        dense d as fc2

model whisper_encoder(mels = 80, frames = 3000, d = 64, L = 2, heads = 4, ffn = 256,
                      positions = 1500):
    input [mels, frames]
    conv1d d, 3, padding = 1 as conv1
    gelu
    conv1d d, 3, stride = 2, padding = 1 as conv2
    gelu
    permute [2, 1]
    position_embedding length = positions, trainable = false as embed_positions
    repeat L:
        encoder_layer d, heads, ffn
    layernorm as layer_norm
"""


@pytest.mark.parametrize("values", [dict(d=64, L=2, heads=4, ffn=256),
                                    dict(d=384, L=4, heads=6, ffn=1536)])  # Whisper-tiny's
def test_whisper_encoders_frozen_positions_against_transformers(transformers, torch, values):
    """transformers' WhisperEncoder calls embed_positions.requires_grad_(False): its
    sinusoidal table is a parameter that is not trained."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder
    config = WhisperConfig(num_mel_bins=80, d_model=values["d"],
                           encoder_layers=values["L"],
                           encoder_attention_heads=values["heads"],
                           encoder_ffn_dim=values["ffn"], max_source_positions=1500)
    with torch.device("meta"):
        encoder = WhisperEncoder(config)
    s = symparam.analyze(WHISPER_ENCODER, values=values)
    assert counts(s) == torch_counts(encoder)
    assert s.value(s.non_trainable) == 1500 * values["d"]
