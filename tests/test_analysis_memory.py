"""Memory formulas against hand derivations and PyTorch's own tensors."""
from __future__ import annotations

import pytest
import sympy

from symparam import SymparamError, analyze
from symparam.analysis.memory import (activation_memory, dtype_bytes, parameter_memory,
                                      training_memory)

MLP = """
model mlp(n = 784, h = 512, k = 10):
    input [n]
    dense h
    relu
    dropout 0.1
    dense k
"""
# Hand count: h*(n + 1) + k*(h + 1) = 512*785 + 10*513 = 401,920 + 5,130.
MLP_PARAMS = 407_050


@pytest.fixture(scope="module")
def mlp():
    return analyze(MLP)


@pytest.mark.parametrize("dtype, nbytes", [("fp32", 4), ("float32", 4), ("bf16", 2),
                                           ("fp16", 2), ("half", 2), ("int8", 1)])
def test_parameter_memory_per_dtype(mlp, dtype, nbytes):
    assert mlp.value(parameter_memory(mlp, dtype)) == nbytes * MLP_PARAMS


def test_unknown_dtype_is_named():
    with pytest.raises(SymparamError, match="unknown dtype 'fp33'.*did you mean 'fp32'"):
        dtype_bytes("fp33")


@pytest.mark.parametrize("optimizer, precision, per_param", [
    ("adam", "mixed", 16),      # 2 + 2 + 4 (master) + 4 + 4 (m, v)
    ("adam", "fp32", 16),       # 4 + 4 + 4 + 4
    ("momentum", "fp32", 12),   # 4 + 4 + 4
    ("momentum", "mixed", 12),  # 2 + 2 + 4 + 4
    ("sgd", "fp32", 8),         # 4 + 4
])
def test_training_bytes_per_parameter(mlp, optimizer, precision, per_param):
    t = training_memory(mlp, optimizer, precision)
    assert t.bytes_per_parameter == per_param
    assert mlp.value(t.total) == per_param * MLP_PARAMS


def test_mixed_adam_parts(mlp):
    parts = {name: (nb, mlp.value(b)) for name, nb, _, b in
             training_memory(mlp, "adam", "mixed").parts}
    assert parts == {"weights": (2, 2 * MLP_PARAMS), "gradients": (2, 2 * MLP_PARAMS),
                     "fp32 master weights": (4, 4 * MLP_PARAMS),
                     "optimizer moments m and v": (8, 8 * MLP_PARAMS)}


def test_gradients_and_state_only_for_trainable():
    # Keras BatchNormalization: 2h trainable (gamma, beta) + 2h non-trainable.
    s = analyze("model m(n = 8, h = 4):\n    input [n]\n    dense h\n    batchnorm\n")
    t = training_memory(s, "adam", "fp32")
    trainable, total = 8 * 4 + 4 + 2 * 4, 8 * 4 + 4 + 4 * 4
    assert s.value(t.total) == 4 * total + 4 * trainable + 8 * trainable


def test_torch_buffers_listed_apart():
    s = analyze("convention torch\nmodel m(n = 8, h = 4):\n    input [n]\n    dense h\n"
                "    batchnorm\n")
    parts = {name: s.value(b) for name, _, _, b in training_memory(s).parts}
    assert parts["buffers"] == 4 * (2 * 4 + 1)  # running_mean, running_var, num_batches


def test_unknown_optimizer(mlp):
    with pytest.raises(SymparamError, match="unknown optimizer 'adma'.*did you mean 'adam'"):
        training_memory(mlp, "adma")


def test_activation_memory_matches_torch_outputs(mlp):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                              torch.nn.Dropout(0.1), torch.nn.Linear(512, 10))
    seen = []
    for module in net:
        module.register_forward_hook(lambda m, i, o: seen.append(o.numel() * o.element_size()))
    batch = 32
    net(torch.zeros(batch, 784))
    act = activation_memory(mlp, batch=batch, dtype="fp32")
    assert [mlp.value(b) for _, b in act.per_layer] == seen
    assert mlp.value(act.total) == sum(seen)


def test_activation_memory_symbolic_batch_and_repeat():
    s = analyze("model m(n = 16, L = 3):\n    input [n]\n    repeat L:\n        dense n\n")
    act = activation_memory(s, dtype="bf16")
    b, n, L = sympy.symbols("batch n L", integer=True, positive=True)
    assert sympy.expand(act.total - 2 * b * L * n) == 0
    assert s.value(act.total.subs(b, 4)) == 2 * 4 * 3 * 16
