"""docs/conventions.md: every row of its tables has an example, and every example's
numbers (measured with Keras and PyTorch, written in the doc) are symparam's numbers in
both conventions."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import symparam
from symparam import SymparamError

DOC = Path(__file__).resolve().parent.parent / "docs" / "conventions.md"
ROW = re.compile(r"^\| ([A-Z]+\d+) \|", re.M)
SECTION = re.compile(r"^### ([A-Z]+\d+) ", re.M)
EXAMPLE = re.compile(r"```symparam\n(.*?)```\s*\nCounts: ([^\n]*)\n", re.S)
SIDE = re.compile(r"^(Keras|PyTorch) (error|[\d,]+)(?: \((.*)\))?$")
DETAIL = re.compile(r"^(trainable|non-trainable|buffers) ([\d,]+)$|^shape \[(.*)\]$")


def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = list(SECTION.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return {m.group(1): text[m.start():end] for m, end in zip(found, ends)}


def expected(side: str) -> dict | None:
    """The numbers one side of a Counts line states; None for `error`."""
    m = SIDE.match(side.strip())
    assert m, f"cannot read {side!r}: see 'How each example is written'"
    name, total, details = m.groups()
    if total == "error":
        return None
    out = {"total": int(total.replace(",", ""))}
    for item in filter(None, (details or "").split(";")):
        d = DETAIL.match(item.strip())
        assert d, f"cannot read {item!r} in {side!r}"
        if d.group(3) is not None:
            out["shape"] = tuple(int(x) for x in d.group(3).split(","))
        else:
            out[d.group(1)] = int(d.group(2).replace(",", ""))
    return out


def measured(s: symparam.ModelStats) -> dict:
    return {"total": s.value(s.total), "trainable": s.value(s.trainable),
            "non-trainable": s.value(s.non_trainable), "buffers": s.value(s.buffers),
            "shape": s.shape_at(s.layers[-1].output_shape)}


def test_every_row_has_its_example():
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert rows and len(rows) == len(set(rows)), "a row id is used twice"
    assert sorted(rows) == sorted(sections()), "rows and ### sections must match"


@pytest.mark.parametrize("rid", sorted(sections()))
def test_example_counts(rid):
    found = EXAMPLE.search(sections()[rid])
    assert found, f"{rid}: no ```symparam example followed by a Counts: line"
    source, counts = found.groups()
    sides = counts.split(" · ")
    assert [s.split()[0] for s in sides] == ["Keras", "PyTorch"], counts
    for convention, side in zip(("keras", "torch"), sides):
        want = expected(side)
        if want is None:
            with pytest.raises(SymparamError):
                symparam.analyze(source, convention=convention)
            continue
        got = measured(symparam.analyze(source, convention=convention))
        assert {k: got[k] for k in want} == want, f"{rid} in convention {convention}"


# ---- conventions as objects: a third one is one object ------------------------------

import dataclasses  # noqa: E402
import pickle  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from symparam import conventions  # noqa: E402
from symparam.conventions import BUFFER, Convention  # noqa: E402
from symparam.errors import SourceError, UsageError  # noqa: E402


def paper_convention() -> Convention:
    """A paper's convention: channels last, BatchNorm's statistics as buffers (no batch
    counter), one bias vector per RNN gate, every written layer counted, its own class
    name for dense and its own automatic names; it accepts no framework's own
    options."""
    return dataclasses.replace(
        conventions.get("keras"), name="paper", display="Paper", like="keras",
        accepts=("paper",), layout="channels_last", statistics=BUFFER,
        batch_counter=False, rnn_bias_vectors=1, counts_unreached=True,
        type_names={"dense": "Linear"}, auto_names={"dense": "fc"})


@pytest.fixture
def paper():
    convention = conventions.register(paper_convention())
    try:
        yield convention
    finally:
        conventions.unregister("paper")


RNN_BN = """model m(T = 10, n = 32, u = 64, k = 10):
    input [T, n]
    lstm u
    batchnorm
    dense k
"""


def test_a_third_convention_counts_by_its_own_choices(paper):
    s = symparam.analyze(RNN_BN, convention="paper")
    assert s.convention == "paper" and s.layout == "channels_last"
    # LSTM: 4u(n + u + 1) = 24,832 with one bias vector (Keras's measured count, R1);
    # BatchNorm: gamma and beta trainable (128), its statistics 2u = 128 buffers and
    # no counter; dense k(u + 1) = 650 on the last step (u features).
    assert measured(s) == {"total": 24_832 + 128 + 650, "trainable": 24_832 + 128 + 650,
                           "non-trainable": 0, "buffers": 128, "shape": (10,)}
    lstm, bn, dense = s.layers[1:]
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [(w.name, w.role) for w in bn.weights] == [
        ("gamma", "trainable"), ("beta", "trainable"),
        ("moving_mean", "buffer"), ("moving_variance", "buffer")]
    assert (dense.type, dense.name) == ("Linear", "fc")
    assert (lstm.type, lstm.name) == ("LSTM", "lstm")


def test_the_same_model_in_the_two_frameworks_differs_where_the_paper_chose():
    keras = measured(symparam.analyze(RNN_BN, convention="keras"))
    torch = measured(symparam.analyze(RNN_BN, convention="torch"))
    # Keras: the statistics are non-trainable parameters; PyTorch: two bias vectors
    # (+4u = 256), 2u + 1 buffers, and the whole sequence out (R1, N1, R3).
    assert keras == {"total": 25_738, "trainable": 25_610, "non-trainable": 128,
                     "buffers": 0, "shape": (10,)}
    assert torch == {"total": 25_866, "trainable": 25_866, "non-trainable": 0,
                     "buffers": 129, "shape": (10, 10)}


def test_a_third_convention_in_a_file_and_on_the_command_line(paper, tmp_path):
    src = ("convention paper\nmodel m(n = 8, C = 3):\n    input [n, n, C]\n"
           "    conv2d 4, 3\n    batchnorm\n")
    s = symparam.analyze(src)
    # Channels last, from the paper's layout: 4 filters of 3x3x3 + 4 = 112; 4 gamma and
    # beta, 8 statistics as buffers.
    assert (s.layout, s.shape_at(s.layers[-1].output_shape)) == ("channels_last", (6, 6, 4))
    assert (s.value(s.total), s.value(s.buffers)) == (120, 8)
    path = tmp_path / "m.symp"
    path.write_text(RNN_BN)
    from symparam.cli import main
    out = CliRunner().invoke(main, ["count", str(path), "--convention", "paper"])
    assert out.exit_code == 0, out.output
    assert "convention paper" in out.output
    assert [line.split()[-1] for line in out.output.splitlines()
            if line.strip().startswith("Buffers")] == ["128"]


def test_a_third_convention_counts_an_unreached_layer_as_it_says(paper):
    src = ("model m(n = 8):\n    input [n] as x\n    dense 8 as unused\n    from x\n"
           "    dense 2\n")
    s = symparam.analyze(src, convention="paper")
    # counts_unreached: 72 + 18, as PyTorch counts (G1).
    assert (s.value(s.total), s.unreached) == (90, ("unused",))


def test_a_third_convention_refuses_every_framework_option(paper):
    with pytest.raises(SourceError) as err:
        symparam.analyze("model m(T = 10, C = 4):\n    input [T, C]\n"
                         "    conv1d 8, 3, padding = causal\n", convention="paper")
    assert err.value.message.startswith(
        "conv1d: `padding = causal` is a Keras option; Paper's Conv1D has no causal "
        "padding (use convention keras)")
    assert (err.value.line, err.value.column) == (3, 18)
    with pytest.raises(SourceError, match=r"`proj_size = 3` is a PyTorch option; "
                                          r"Paper's LSTM has no projection"):
        symparam.analyze("model m(T = 10, n = 4):\n    input [T, n]\n"
                         "    lstm 8, proj_size = 3\n", convention="paper")


def test_the_registry():
    assert conventions.names()[:2] == ("keras", "torch")
    keras, torch = conventions.get("keras"), conventions.get("torch")
    assert (keras.display, torch.display) == ("Keras", "PyTorch")
    assert (keras.layout, torch.layout) == ("channels_last", "channels_first")
    assert conventions.get(torch) is torch
    with pytest.raises(UsageError, match=r"unknown convention 'tf': use keras or torch"):
        conventions.get("tf")
    with pytest.raises(UsageError, match=r"unknown convention 'torhc' \(did you mean "
                                         r"'torch'\?\): use keras or torch"):
        symparam.analyze("model m():\n    input [3]\n", convention="torhc")
    with pytest.raises(TypeError, match="compare convention.name"):
        assert keras == "keras"
    with pytest.raises(ValueError, match="registered twice"):
        conventions.register(dataclasses.replace(keras))
    with pytest.raises(ValueError, match="not registered"):
        conventions.register(dataclasses.replace(keras, name="x", like="flax"))
    # Pickled by name, so stats holding one stay picklable; an object for a name.
    assert pickle.loads(pickle.dumps(torch)) is torch
    s = symparam.analyze("model m(n = 4):\n    input [n]\n    batchnorm\n", convention=torch)
    assert (s.convention, s.value(s.buffers)) == ("torch", 9)


def test_the_registered_convention_is_known_everywhere(paper):
    with pytest.raises(UsageError, match=r"use keras or torch or paper"):
        conventions.get("jax")
    assert dict(conventions.displays()) == {"keras": "Keras", "torch": "PyTorch",
                                            "paper": "Paper"}
    from symparam.render.facts import CONVENTION_NAMES
    assert CONVENTION_NAMES["paper"] == "Paper"


# ---- the one refusal: every framework-only option today, at its line and column -------

# (model body after `input`, the input, the convention that refuses it, the message
# after "line L, column C: ", the column of the argument). Each option is measured
# in docs/conventions.md or checked in tests/test_layers_*.py against the framework.
REFUSED = [
    ("conv1d 8, 3, padding = causal", "[T, C]", "torch",
     "conv1d: `padding = causal` is a Keras option; PyTorch's Conv1d has no causal "
     "padding (use convention keras)", 18),
    ("conv2d 8, 3, stride = 2, padding = same", "[C, n, n]", "torch",
     "conv2d: `padding = same` is a Keras option; PyTorch's Conv2d has no padding='same' "
     "with a stride (use an integer padding) (use convention keras)", 30),
    ("conv2d_transpose 8, 3, padding = same", "[C, n, n]", "torch",
     "conv2d_transpose: `padding = same` is a Keras option; PyTorch's ConvTranspose2d "
     "takes an integer padding only (use convention keras)", 28),
    ("conv2d_transpose 8, 3, groups = 2", "[n, n, C]", "keras",
     "conv2d_transpose: `groups = 2` is a PyTorch option; Keras's Conv2DTranspose has "
     "no groups (use convention torch)", 28),
    ("maxpool2d 2, padding = same", "[C, n, n]", "torch",
     "maxpool2d: `padding = same` is a Keras option; PyTorch's MaxPool2d has no "
     "padding='same' (use an integer padding) (use convention keras)", 18),
    ("maxpool2d 2, ceil_mode = true", "[n, n, C]", "keras",
     "maxpool2d: `ceil_mode = true` is a PyTorch option; Keras's MaxPooling2D has no "
     "ceil_mode (use convention torch)", 18),
    ("maxpool2d 2, dilation = 2", "[n, n, C]", "keras",
     "maxpool2d: `dilation = [2, 2]` is a PyTorch option; Keras's MaxPooling2D has no "
     "dilation (use convention torch)", 18),
    ("lstm 8, proj_size = 3", "[T, C]", "keras",
     "lstm: `proj_size = 3` is a PyTorch option; Keras's LSTM has no projection "
     "(proj_size) (use convention torch)", 13),
    ("lstm 8, recurrent_dropout = 0.2", "[T, C]", "torch",
     "lstm: `recurrent_dropout = 0.2` is a Keras option; PyTorch's LSTM has no recurrent "
     "dropout (use convention keras)", 13),
    ("lstm 8, recurrent_activation = tanh", "[T, C]", "torch",
     "lstm: `recurrent_activation = tanh` is a Keras option; PyTorch's LSTM fixes its "
     "activations (use convention keras)", 13),
    ("gru 8, activation = relu", "[T, C]", "torch",
     "gru: `activation = relu` is a Keras option; PyTorch's GRU fixes its activations "
     "(use convention keras)", 12),
    ("simple_rnn 8, activation = sigmoid", "[T, C]", "torch",
     "simple_rnn: `activation = sigmoid` is a Keras option; PyTorch's RNN fixes its "
     "activations (nonlinearity: tanh or relu) (use convention keras)", 19),
    ("lstm 8, bidirectional = true, merge_mode = sum", "[T, C]", "torch",
     "lstm: `merge_mode = sum` is a Keras option; PyTorch's LSTM always concatenates "
     "both directions (use convention keras)", 35),
    ("gru 8, reset_after = false", "[T, C]", "torch",
     "gru: `reset_after = false` is a Keras option; PyTorch's GRU applies the reset gate "
     "after the recurrent product (reset_after = true) only (use convention keras)", 12),
    ("attention 2, 2, add_bias_kv = true", "[T, C]", "keras",
     "attention: `add_bias_kv = true` is a PyTorch option; Keras's MultiHeadAttention has "
     "no learned key and value steps (add_bias_kv) (use convention torch)", 21),
    ("attention 2, 2, kdim = C", "[T, C]", "keras",
     "attention: `kdim = C` is a PyTorch option; Keras's MultiHeadAttention reads the "
     "widths from its inputs (key_dim: the size of each head) (use convention torch)", 21),
    ("attention 2, 2, value_dim = 3", "[T, C]", "torch",
     "attention: `value_dim = 3` is a Keras option; PyTorch's MultiheadAttention works "
     "at the query's width embed_dim (use convention keras)", 21),
    ("attention 2, 2, output_shape = 6", "[T, C]", "torch",
     "attention: `output_shape = 6` is a Keras option; PyTorch's MultiheadAttention "
     "works at the query's width embed_dim (use convention keras)", 21),
    ("batchnorm track_running_stats = false", "[T, C]", "keras",
     "batchnorm: `track_running_stats = false` is a PyTorch option; Keras's "
     "BatchNormalization always keeps running statistics (use convention torch)", 15),
    ("batchnorm scale = false", "[C, T]", "torch",
     "batchnorm: `scale = false` is a Keras option; PyTorch's BatchNorm1d has no shift "
     "without a scale: affine = true gives both, bias = false keeps the scale alone "
     "(use convention keras)", 15),
    ("batchnorm axis = [1, 2]", "[T, C]", "keras",
     "batchnorm: `axis = [1, 2]` is a PyTorch option; Keras's BatchNormalization takes "
     "a single axis (use convention torch)", 15),
    ("layernorm axis = 1", "[T, C]", "torch",
     "layernorm: `axis = 1` is a Keras option; PyTorch's LayerNorm normalizes trailing "
     "axes only (normalized_shape); give axes that end at the last one (use convention "
     "keras)", 15),
    ("rmsnorm elementwise_affine = false", "[T, C]", "keras",
     "rmsnorm: `elementwise_affine = false` is a PyTorch option; Keras's RMSNormalization "
     "always learns its scale (use convention torch)", 13),
    ("groupnorm -1", "[C, T]", "torch",
     "groupnorm: `groups = -1` is a Keras option; PyTorch's GroupNorm needs a positive "
     "num_groups (groups = -1: one per channel) (use convention keras)", 15),
    ("instancenorm", "[T, C]", "keras",
     "instancenorm: `instancenorm` is a PyTorch layer; Keras has no instance "
     "normalization layer; `groupnorm -1` (GroupNormalization(groups=-1)) is one, with "
     "gamma and beta unless center/scale are false (use convention torch)", 5),
    ("prelu shared_axes = [1]", "[C, T]", "torch",
     "prelu: `shared_axes = [1]` is a Keras option; PyTorch's PReLU has num_parameters "
     "instead (1, or the number of channels) (use convention keras)", 11),
    ("prelu num_parameters = C", "[T, C]", "keras",
     "prelu: `num_parameters = C` is a PyTorch option; Keras's PReLU has one slope per "
     "element unless shared_axes (use convention torch)", 11),
    ("upsample2d 1.5", "[n, n, C]", "keras",
     "upsample2d: `factor = 1.5` is a PyTorch option; Keras's UpSampling2D takes whole "
     "factors only (use convention torch)", 16),
]


@pytest.mark.parametrize("body, shape, convention, message, column", REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_a_framework_only_option_is_refused_at_its_argument(body, shape, convention,
                                                            message, column):
    src = (f"model m(T = 10, n = 8, C = 4):\n    input {shape}\n    {body}\n")
    with pytest.raises(SourceError) as err:
        symparam.analyze(src, convention=convention)
    assert err.value.message == message
    assert (err.value.line, err.value.column) == (3, column)
    # The framework that has the option counts the same line.
    other = "keras" if convention == "torch" else "torch"
    assert symparam.analyze(src, convention=other).layers[-1].kind == body.split()[0]


def test_the_documented_convention_is_one_object():
    """docs/conventions.md's "Adding a convention" block registers a working convention
    with nothing else changed, and counts as the page says."""
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"## Adding a convention\n.*?```python\n(.*?)```", text, re.S).group(1)
    try:
        exec(compile(code, "conventions.md", "exec"), {})
        s = symparam.analyze("model m(T = 10, n = 32, u = 64):\n    input [T, n]\n"
                             "    lstm u\n    batchnorm\n", convention="paper")
        lstm, bn = s.layers[1:]
        assert (s.value(lstm.params), s.value(bn.trainable), s.value(bn.buffers)) == (
            24_832, 128, 128)
        assert "24,832" in text and "128 buffers" in text
        with pytest.raises(SourceError) as err:
            symparam.analyze("model m(T = 10, n = 4):\n    input [T, n]\n"
                             "    lstm 8, proj_size = 3\n", convention="paper")
        assert err.value.message.split(": ", 1)[1] in " ".join(text.split())
    finally:
        conventions.unregister("paper")


def test_a_refusal_inside_a_block_points_at_the_argument():
    src = ("block enc(u):\n    dense u\n    conv1d u, 3, padding = causal\n"
           "model m(T = 10, C = 4):\n    input [T, C]\n    enc 8\n")
    with pytest.raises(SourceError) as err:
        symparam.analyze(src, convention="torch")
    assert (err.value.line, err.value.column) == (3, 18)
    assert "`padding = causal` is a Keras option; PyTorch's Conv1d" in str(err.value)
    keras = symparam.analyze(src)
    assert keras.value(keras.total) == 4 * 8 + 8 + 3 * 8 * 8 + 8  # dense 8, then C7's conv


def test_an_option_no_registered_convention_has():
    from symparam.layers.base import ArgError, Context, lookup, refuse
    ctx = Context("torch", "channels_first")
    with pytest.raises(ArgError) as err:
        refuse(lookup("dense"), ctx, "units", 3, ("flax",), "has nothing of the kind")
    assert str(err.value) == "`units = 3`: PyTorch's Linear has nothing of the kind"
