"""Weight sharing: `tie = NAME` and `reuse NAME`, counted once as Keras's count_params
and PyTorch's parameters() count a shared tensor."""
from __future__ import annotations

import pytest
import sympy

import symparam
from symparam import SymparamError
from symparam.layers.base import SHARED

V, d = (sympy.Symbol(s, integer=True, positive=True) for s in ("V", "d"))

TIED_LM = """
convention {c}
model lm(V = 100, d = 8, T = 7):
    input [T]
    embedding V, d as wte
    dense V, bias = {bias}, tie = wte as head
"""

SIAMESE = """
model siamese(n = 10, h = 4):
    input [n] as left
    input [n] as right
    from left
    dense h, activation = relu as enc
    from right
    reuse enc as enc_right
    subtract enc
"""

SIAMESE_BLOCK = """
convention {c}
block encoder(h):
    dense 2 * h, activation = relu
    dense h

model siamese(n = 10, h = 3):
    input [n] as left
    input [n] as right
    from left
    encoder h as enc
    from right
    reuse enc as enc2
    concat enc
"""


@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_tied_head_counts_the_table_once(convention):
    tied = symparam.analyze(TIED_LM.format(c=convention, bias="false"), symbolic=True)
    assert tied.total == V * d
    head = tied.layers[-1]
    (weight,) = head.weights
    assert weight.role == SHARED and head.params == 0
    assert weight.shared_with == ("wte/embeddings" if convention == "keras" else "wte/weight")
    # Keras's kernel is d x V, the table V x d: shared transposed. PyTorch: same shape.
    assert weight.shape == ((d, V) if convention == "keras" else (V, d))
    assert ("transposed" in weight.why) == (convention == "keras")


def test_tied_head_keeps_its_own_bias():
    s = symparam.analyze(TIED_LM.format(c="torch", bias="true"), symbolic=True)
    assert s.total == V * d + V
    assert [w.role for w in s.layers[-1].weights] == [SHARED, "trainable"]


def test_tying_saves_what_gpt2_publishes():
    """GPT-2 small: 163,037,184 parameters untied, 124,439,808 with the output head tied
    to the token embedding (Hugging Face's GPT2LMHeadModel): the gap is one V x d table."""
    src = TIED_LM.format(c="torch", bias="false")
    values = {"V": 50257, "d": 768}
    tied = symparam.analyze(src, values=values)
    untied = symparam.analyze(src.replace(", tie = wte", ""), values=values)
    assert tied.value(untied.total - tied.total) == 163_037_184 - 124_439_808


def test_reused_layer_counts_once():
    s = symparam.analyze(SIAMESE)
    assert s.value(s.total) == (10 + 1) * 4
    again = next(layer for layer in s.layers if layer.name == "enc_right")
    assert again.kind == "dense" and again.params == 0
    assert [w.shared_with for w in again.weights] == ["enc/kernel", "enc/bias"]
    assert s.shape_at(s.layers[-1].output_shape) == (4,)


def test_reused_block_counts_once():
    s = symparam.analyze(SIAMESE_BLOCK.format(c="keras"))
    assert s.value(s.total) == (10 + 1) * 6 + (6 + 1) * 3
    reused = [layer for layer in s.layers if "enc2" in layer.path]
    assert len(reused) == 2 and all(w.role == SHARED for l in reused for w in l.weights)
    assert s.shape_at(s.layers[-1].output_shape) == (6,)


@pytest.mark.parametrize("body, message", [
    # (d, 5) is the table (V, d) transposed when V = 5: refused once V = 100 is in effect
    ("embedding V, d as wte\n    dense 5, tie = wte",
     r"tie = wte: dense's kernel of shape \(d, 5\) must have the shape of wte's embeddings "
     r"\(V, d\) or embeddings \(d, V\) \(transposed\) \(with V = 100, d = 8, T = 7\)"),
    ("embedding 100, 8 as wte\n    dense 5, tie = wte",
     r"tie = wte: dense's kernel of shape \(8, 5\) matches no weight of 'wte'"),
    ("embedding V, d as wte\n    dense V, tie = wtx", "no layer 'wtx' before this line"),
    ("embedding V, d as wte\n    dense V, tie = 3", "tie takes the name of a layer"),
    ("embedding V, d as wte\n    dropout 0.1, tie = wte", "has no weight to share"),
    ("embedding V, d as wte\n    reuse", "write `reuse NAME`"),
    ("embedding V, d as wte\n    reuse nothing", "no layer 'nothing'"),
    ("embedding V, d as wte\n    reuse wte, 3", "write `reuse NAME`"),
    ("embedding V, d as wte\n    dense 4 as e\n    reuse e",
     r"reuse of 'e': here its kernel would be \(4, 4\) but it is \(d, 4\)"),
])
def test_bad_sharing(body, message):
    src = f"model m(V = 100, d = 8, T = 7):\n    input [T] as tokens\n    {body}\n"
    with pytest.raises(SymparamError, match=message) as err:
        symparam.analyze(src)
    assert f"line {src.count(chr(10))}" in str(err.value)  # the last line


def test_reuse_of_an_input_is_an_error():
    with pytest.raises(SymparamError, match="'a' is an input, not a layer"):
        symparam.analyze("model m():\n    input [3] as a\n    reuse a\n")


# ---- the frameworks themselves ---------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("bias", [False, True])
def test_tied_head_against_keras(frameworks, bias):
    keras = frameworks["keras"]
    ops = keras.ops

    class TiedHead(keras.layers.Layer):
        """x @ table^T (+ b): the output head reads the embedding's own variable."""

        def __init__(self, embedding, use_bias, **kw):
            super().__init__(**kw)
            self.embedding, self.use_bias = embedding, use_bias

        def build(self, shape):
            if self.use_bias:
                self.b = self.add_weight(shape=(self.embedding.input_dim,), name="bias")

        def call(self, x):
            y = ops.matmul(x, ops.transpose(self.embedding.embeddings))
            return y + self.b if self.use_bias else y

    s = symparam.analyze(TIED_LM.format(c="keras", bias=str(bias).lower()))
    tokens = keras.Input((7,), dtype="int32")
    wte = keras.layers.Embedding(100, 8)
    y = TiedHead(wte, bias)(wte(tokens))
    model = keras.Model(tokens, y)
    assert s.value(s.total) == model.count_params()
    assert tuple(y.shape[1:]) == s.shape_at(s.layers[-1].output_shape)


@pytest.mark.oracle
@pytest.mark.parametrize("bias", [False, True])
def test_tied_head_against_torch(frameworks, bias):
    nn = frameworks["torch"].nn
    s = symparam.analyze(TIED_LM.format(c="torch", bias=str(bias).lower()))
    model = nn.ModuleDict({"wte": nn.Embedding(100, 8), "head": nn.Linear(8, 100, bias=bias)})
    model["head"].weight = model["wte"].weight  # GPT-2's tie
    assert s.value(s.total) == sum(p.numel() for p in model.parameters())


@pytest.mark.oracle
def test_siamese_against_keras(frameworks):
    keras = frameworks["keras"]
    s = symparam.analyze(SIAMESE)
    left, right = keras.Input((10,)), keras.Input((10,))
    enc = keras.layers.Dense(4, activation="relu")
    y = keras.layers.Subtract()([enc(left), enc(right)])
    assert s.value(s.total) == keras.Model([left, right], y).count_params()


@pytest.mark.oracle
def test_siamese_block_against_keras(frameworks):
    keras = frameworks["keras"]
    s = symparam.analyze(SIAMESE_BLOCK.format(c="keras"))
    encoder = keras.Sequential([keras.layers.Dense(6, activation="relu"),
                                keras.layers.Dense(3)])
    left, right = keras.Input((10,)), keras.Input((10,))
    y = keras.layers.Concatenate()([encoder(left), encoder(right)])
    model = keras.Model([left, right], y)
    assert s.value(s.total) == model.count_params()
    assert tuple(y.shape[1:]) == s.shape_at(s.layers[-1].output_shape)


@pytest.mark.oracle
def test_siamese_block_against_torch(frameworks):
    torch = frameworks["torch"]
    nn = torch.nn
    s = symparam.analyze(SIAMESE_BLOCK.format(c="torch"))

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 3))

        def forward(self, a, b):
            return torch.cat([self.enc(a), self.enc(b)], dim=1)

    model = Siamese()
    assert s.value(s.total) == sum(p.numel() for p in model.parameters())
    y = model(torch.zeros(2, 10), torch.zeros(2, 10))
    assert tuple(y.shape[1:]) == s.shape_at(s.layers[-1].output_shape)


def test_reuse_in_an_unrolled_repeat_finds_its_own_copy():
    src = """
model m(n = 8):
    input [n]
    repeat 2 as i:
        dense n + i as inner
        dense n
        reuse inner
"""
    s = symparam.analyze(src)
    shared = [w.shared_with for layer in s.layers for w in layer.weights if w.shared_with]
    assert shared == ["inner/kernel", "inner/bias", "inner_1/kernel", "inner_1/bias"]
    # copy 0: inner 8 -> 8, dense 8 -> 8; copy 1: inner 8 -> 9, dense 9 -> 8
    assert s.value(s.total) == (8 * 8 + 8) + (8 * 8 + 8) + (8 * 9 + 9) + (9 * 8 + 8)


def test_tie_from_inside_a_block():
    src = """
block head(V):
    dense V, bias = false, tie = wte

model m(V = 50, d = 8, T = 4):
    input [T]
    embedding V, d as wte
    head V
"""
    s = symparam.analyze(src, convention="torch")
    assert s.value(s.total) == 50 * 8
    assert s.layers[-1].weights[0].shared_with == "wte/weight"


def test_reuse_in_a_symbolic_repeat_adds_nothing():
    src = "model m(n = 8, N = 3):\n    input [n]\n    dense n as enc\n" \
          "    repeat N:\n        reuse enc\n"
    s = symparam.analyze(src, symbolic=True)
    n = sympy.Symbol("n", integer=True, positive=True)
    assert s.total == n * (n + 1)
