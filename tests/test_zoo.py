"""The model zoo against the published counts of the architectures it describes.

Ground truth comes from outside symparam: the counts keras.applications, torchvision
and Hugging Face transformers report for these models, quoted in each zoo file's
header. The Keras-convention models are also built in Keras itself (tests marked
``oracle``) and compared layer by layer.
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import sympy

import symparam
from symparam import SourceError
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")

# (file, model) -> (total, trainable, non-trainable, buffer elements), as published.
PUBLISHED = {
    # keras.applications.VGG16(weights=None).count_params()
    ("vgg16", None): (138_357_544, 138_357_544, 0, 0),
    # keras.applications.ResNet50: the BatchNormalization moving means and variances
    # are non-trainable parameters.
    ("resnet50", None): (25_636_712, 25_583_592, 53_120, 0),
    # keras.applications.MobileNetV2(alpha=1.0)
    ("mobilenetv2", None): (3_538_984, 3_504_872, 34_112, 0),
    # torchvision.models.resnet18: its 20 BatchNorm2d layers keep running_mean and
    # running_var (9,600 values) and num_batches_tracked (20) as buffers.
    ("resnet18", None): (11_689_512, 11_689_512, 0, 9_620),
    # torchvision.models.efficientnet_b0 and mobilenet_v3_large (weights enums' num_params;
    # 49 and 46 BatchNorm2d); built in both frameworks in tests/test_zoo_vision.py.
    ("efficientnet_b0", None): (5_288_548, 5_288_548, 0, 42_065),
    ("mobilenet_v3_large", None): (5_483_032, 5_483_032, 0, 24_446),
    # torchvision.models.squeezenet1_0 (max pooling with ceil_mode)
    ("squeezenet", None): (1_248_424, 1_248_424, 0, 0),
    # torchvision.models.alexnet
    ("alexnet", None): (61_100_840, 61_100_840, 0, 0),
    # transformers GPT2LMHeadModel (gpt2), tied and untied head.
    ("gpt2", "gpt2"): (124_439_808, 124_439_808, 0, 0),
    ("gpt2", "gpt2_untied"): (163_037_184, 163_037_184, 0, 0),
    # transformers BertModel (bert-base-uncased) with its pooler.
    ("bert_base", None): (109_482_240, 109_482_240, 0, 0),
    # transformers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and
    # GemmaForCausalLM: the buffers are the rotary embedding's inv_freq and
    # original_inv_freq (head_dim / 2 each), and Gemma's embed_scale (1). Built from
    # config objects in tests/test_llm_attention.py.
    ("llama", "llama2_7b"): (6_738_415_616, 6_738_415_616, 0, 128),
    ("llama", "llama3_8b"): (8_030_261_248, 8_030_261_248, 0, 128),
    ("mistral_7b", None): (7_241_732_096, 7_241_732_096, 0, 128),
    ("qwen2_7b", None): (7_615_616_512, 7_615_616_512, 0, 128),
    ("gemma_7b", None): (8_537_680_896, 8_537_680_896, 0, 257),
    # transformers MixtralForCausalLM and Qwen2MoeForCausalLM (mixtures of experts; their
    # active parameters are checked in tests/test_moe.py).
    ("mixtral_8x7b", None): (46_702_792_704, 46_702_792_704, 0, 128),
    ("qwen1_5_moe_a2_7b", None): (14_315_784_192, 14_315_784_192, 0, 128),
    # torchvision vit_b_16 and convnext_tiny (weights enums' num_params): the class
    # token, position embedding and layer scales are params (tests/test_params.py).
    ("vit_b16", None): (86_567_656, 86_567_656, 0, 0),
    ("convnext_tiny", None): (28_589_128, 28_589_128, 0, 0),
    # torchvision.models.swin_t: the buffers are the 12 attention layers'
    # relative_position_index (49 x 49 each); tests/test_window_attention.py.
    ("swin_t", None): (28_288_354, 28_288_354, 0, 28_812),
    # transformers DeepseekV3ForCausalLM (multi-head latent attention and experts; its
    # buffers are the routers' e_score_correction_bias and the rotary embedding's;
    # checked with the active parameters in tests/test_mla.py).
    ("deepseek_v3", None): (671_026_404_352, 671_026_404_352, 0, 14_912),
    # Counted by Keras (model.count_params(); see the oracle tests below).
    ("lenet5", None): (61_706, 61_706, 0, 0),
    ("imdb_lstm", None): (2_691_713, 2_691_713, 0, 0),
    ("unet", None): (1_940_834, 1_940_834, 0, 0),
}


def stats(name: str, model: str | None = None, **kw) -> symparam.ModelStats:
    return symparam.analyze(ZOO / f"{name}.symp", model=model, **kw)


def symbols(expr) -> dict[str, sympy.Symbol]:
    return {s.name: s for s in expr.free_symbols}


def header(name: str) -> str:
    """The comment lines that open a zoo file."""
    lines = (ZOO / f"{name}.symp").read_text().splitlines()
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def test_every_zoo_file_is_tested():
    files = {p.stem for p in ZOO.glob("*.symp")}
    assert files, f"no zoo files in {ZOO}"
    assert files == {name for name, _ in PUBLISHED}


@pytest.mark.parametrize("name, model", sorted(PUBLISHED, key=str))
def test_counts_match_published(name, model):
    s = stats(name, model)
    got = tuple(s.value(e) for e in (s.total, s.trainable, s.non_trainable, s.buffers))
    assert got == PUBLISHED[name, model]


@pytest.mark.parametrize("name, model", sorted(PUBLISHED, key=str))
def test_header_states_source_and_count(name, model):
    text = header(name)
    assert text, f"{name}.symp must open with a comment stating its source"
    assert re.search(r"\b(19|20)\d\d\b", text), f"{name}.symp's header must cite its paper"
    assert re.search(r"keras|torchvision|transformers", text, re.I), \
        f"{name}.symp's header must name the implementation it mirrors"
    total = PUBLISHED[name, model][0]
    assert f"{total:,}" in text, f"{name}.symp's header must state its count {total:,}"


def test_docs_table_states_every_count():
    text = (Path(__file__).resolve().parent.parent / "docs" / "zoo.md").read_text(
        encoding="utf-8")
    for (name, _model), counts in PUBLISHED.items():
        assert f"`{name}.symp`" in text
        for n in counts:
            assert f"{n:,}" in text, f"docs/zoo.md lacks {n:,} ({name})"


# ---- symbolic checks ---------------------------------------------------------------

@pytest.mark.parametrize("name, classes_slope, channel_slope", [
    # The classifier's inputs + 1 bias per class; the first convolution's filters
    # times its window per input channel (plus nothing: a bias is per filter).
    ("vgg16", 4096 + 1, 64 * 3 * 3),
    ("resnet50", 2048 + 1, 64 * 7 * 7),
    ("mobilenetv2", 1280 + 1, 32 * 3 * 3),
    ("resnet18", 512 + 1, 64 * 7 * 7),
    ("alexnet", 4096 + 1, 64 * 11 * 11),
])
def test_linear_in_classes_and_channels(name, classes_slope, channel_slope):
    total = stats(name, symbolic=True).total
    sym = symbols(total)
    assert sympy.diff(total, sym["K"]) == classes_slope
    assert sympy.diff(total, sym["C"]) == channel_slope


def test_alexnet_count_does_not_depend_on_image_size():
    # AdaptiveAvgPool2d((6, 6)) fixes the classifier's input at 256 x 6 x 6.
    total = stats("alexnet", symbolic=True).total
    assert set(symbols(total)) == {"C", "K"}


def test_gpt2_untying_adds_the_embedding_matrix():
    tied = stats("gpt2", "gpt2", symbolic=True).total
    untied = stats("gpt2", "gpt2_untied", symbolic=True).total
    sym = symbols(untied)
    assert sympy.expand(untied - tied) == sym["V"] * sym["d"]


@pytest.mark.parametrize("name, model", [("gpt2", "gpt2"), ("bert_base", None)])
def test_transformer_layer_has_12d2_plus_13d_parameters(name, model):
    # Per layer: attention 4d(d + 1), MLP d*4d + 4d + 4d*d + d, two LayerNorms 4d.
    total = stats(name, model, symbolic=True).total
    sym = symbols(total)
    d = sym["d"]
    assert sympy.expand(sympy.diff(total, sym["L"])) == 12 * d**2 + 13 * d


@pytest.mark.parametrize("name, model", [("gpt2", "gpt2"), ("gpt2", "gpt2_untied"),
                                         ("bert_base", None)])
def test_transformers_count_alike_in_both_conventions(name, model):
    # Keras's MultiHeadAttention with key_dim = d / heads holds the same weights as
    # PyTorch's packed in_proj and out_proj; the tied head is counted once in both.
    keras = stats(name, model, convention="keras", symbolic=True).total
    torch = stats(name, model, convention="torch", symbolic=True).total
    assert sympy.expand(keras - torch) == 0


def test_lstm_classifier_is_keras_only():
    # recurrent_dropout exists in Keras's LSTM only: counting the Keras example the
    # PyTorch way must say so rather than drop the option.
    with pytest.raises(SourceError, match="`recurrent_dropout = 0.2` is a Keras option"):
        stats("imdb_lstm", convention="torch")


def test_batchnorm_statistics_move_between_conventions():
    # Keras: moving statistics are non-trainable parameters, no num_batches_tracked.
    s = stats("resnet18", convention="keras")
    assert (s.value(s.total), s.value(s.non_trainable), s.value(s.buffers)) == \
        (11_689_512 + 9_600, 9_600, 0)
    # PyTorch: ResNet-50's 53 BatchNorm layers keep them as buffers, plus a counter each.
    s = stats("resnet50", convention="torch")
    assert (s.value(s.total), s.value(s.non_trainable), s.value(s.buffers)) == \
        (25_583_592, 0, 53_120 + 53)


def test_unet_width_and_size():
    s = stats("unet", values={"f": 64})
    assert s.value(s.total) == 31_030_658   # Keras, at the paper's widths (below)
    total = stats("unet", symbolic=True).total
    assert not {"H", "W"} & set(symbols(total))
    assert sympy.degree(total, symbols(total)["f"]) == 2


def test_unet_input_must_survive_four_poolings():
    # 120 = 8 x 15: after four 2 x 2 poolings and four 2x upsamplings the skip
    # connection of the deepest level no longer lines up.
    with pytest.raises(SourceError, match=r"concatenate: .* must equal .*H = 120"):
        stats("unet", values={"H": 120})


@pytest.mark.parametrize("name, layer, shape", [
    # The papers' feature maps before the classifier: 7 x 7 at 224 x 224 input.
    ("vgg16", "block5", (7, 7, 512)),
    ("resnet50", "conv5", (7, 7, 2048)),
    ("mobilenetv2", "Conv_1", (7, 7, 1280)),
    ("resnet18", "layer4", (512, 7, 7)),
    ("alexnet", "features", (256, 6, 6)),
    ("lenet5", "C5", (1, 1, 120)),
    ("bert_base", "pooler", (768,)),
])
def test_feature_map_shapes(name, layer, shape):
    s = stats(name)
    found = [l for l in s.layers if l.name == layer or (l.path and l.path[0] == layer)]
    assert found, f"no layer or block named {layer} in {name}"
    assert s.shape_at(found[-1].output_shape) == shape


def test_gpt2_predicts_a_token_at_every_position():
    s = stats("gpt2", "gpt2")
    assert s.shape_at(s.layers[-1].output_shape) == (1024, 50257)


# ---- the real Keras -----------------------------------------------------------------

def _layer_counts(s: symparam.ModelStats) -> Counter:
    """How many layers hold each parameter count, repeats counted as often as they stand."""
    out: Counter = Counter()
    for layer in s.layers:
        n, times = s.value(layer.params), s.value(layer.multiplier)
        if n:
            out[n // times] += times
    return out


def _keras_counts(model) -> Counter:
    return Counter(n for n in (layer.count_params() for layer in model.layers) if n)


def _shapes(s: symparam.ModelStats) -> set:
    # Zero padding is left out: MobileNetV2's zoo file writes Keras's ZeroPadding2D +
    # 'valid' convolution as one 'same' convolution.
    return {s.shape_at(layer.output_shape) for layer in s.layers if layer.kind != "zeropad2d"}


def _keras_shapes(model) -> set:
    outputs = {tuple(layer.output.shape[1:]) for layer in model.layers
               if type(layer).__name__ != "ZeroPadding2D"}
    return outputs | {tuple(model.input_shape[1:])}


def _lenet5(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((32, 32, 1)), L.Conv2D(6, 5, activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(16, 5, activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(120, 5, activation="tanh"), L.Flatten(), L.Dense(84, activation="tanh"),
        L.Dense(10, activation="softmax")])


def _imdb_lstm(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((80,), dtype="int32"), L.Embedding(20000, 128),
        L.LSTM(128, dropout=0.2, recurrent_dropout=0.2), L.Dense(1, activation="sigmoid")])


def _unet(keras, f=16):
    L = keras.layers
    x = inputs = keras.Input((128, 128, 1))

    def double_conv(x, filters):
        x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return L.Conv2D(filters, 3, padding="same", activation="relu")(x)

    skips = []
    for m in (1, 2, 4, 8):
        x = double_conv(x, m * f)
        skips.append(x)
        x = L.MaxPooling2D(2)(x)
    x = double_conv(x, 16 * f)
    for m, skip in zip((8, 4, 2, 1), reversed(skips)):
        x = L.Conv2DTranspose(m * f, 2, strides=2)(x)
        x = double_conv(L.Concatenate()([x, skip]), m * f)
    return keras.Model(inputs, L.Conv2D(2, 1, activation="softmax")(x))


APPLICATIONS = {"vgg16": "VGG16", "resnet50": "ResNet50", "mobilenetv2": "MobileNetV2"}


def _application(keras, name: str, **options):
    """A keras.applications model, without its pretrained weights."""
    return getattr(keras.applications, APPLICATIONS[name])(weights=None, **options)


KERAS_BUILDS = {
    **{name: functools.partial(_application, name=name) for name in APPLICATIONS},
    "lenet5": _lenet5,
    "imdb_lstm": _imdb_lstm,
    "unet": _unet,
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(KERAS_BUILDS))
def test_layer_by_layer_against_keras(name, frameworks):
    model = KERAS_BUILDS[name](frameworks["keras"])
    s = stats(name)
    assert s.value(s.total) == model.count_params()
    assert s.value(s.trainable) == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert _layer_counts(s) == _keras_counts(model)
    assert s.shape_at(s.layers[-1].output_shape) == tuple(model.output_shape[1:])
    assert _shapes(s) == _keras_shapes(model)


@pytest.mark.oracle
def test_unet_at_the_papers_widths_against_keras(frameworks):
    model = _unet(frameworks["keras"], f=64)
    assert model.count_params() == 31_030_658


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_other_sizes_against_keras(name, frameworks):
    # Odd sizes exercise every floor and ceiling of the strides and paddings.
    model = _application(frameworks["keras"], name, input_shape=(97, 131, 3), classes=7)
    s = stats(name, values={"H": 97, "W": 131, "C": 3, "K": 7})
    assert s.value(s.total) == model.count_params()
    assert _shapes(s) == _keras_shapes(model)
