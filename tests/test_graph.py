"""The resolved graph (symparam.graph, built by symparam.resolve): frozen,
convention-free, picklable; the analysis walks it under either convention."""
from __future__ import annotations

import dataclasses
import pickle
import re

import pytest

import symparam
from symparam import graph as g
from symparam.errors import SourceError
from symparam.parser import parse
from symparam.resolve import resolve

SRC = """\
block mlp(d, f = 4 * d):
    dense f, activation = relu
    dense d

model net(n = 16, L = 3):
    input [n]
    batchnorm
    repeat L:
        residual:
            mlp n
    branches concat:
        branch:
            dense 2
        branch:
            dense 3 as side
"""


def test_the_graph_of_a_model():
    graph = resolve(parse(SRC))
    assert graph.name == "net" and list(graph.blocks) == ["mlp"]
    inp, bn, rep, br = graph.model.body
    assert isinstance(inp, g.Input) and (inp.line, inp.column) == (6, 5)
    assert isinstance(bn, g.Apply) and bn.kind == "batchnorm" and bn.args == ()
    # A repeat over a symbol is one node, its body resolved once (not unrolled).
    assert isinstance(rep, g.Repeat) and rep.index_at is None and len(rep.body) == 1
    (res,) = rep.body
    assert isinstance(res, g.Residual) and res.merge.kind == "add"
    (call,) = res.body
    assert isinstance(call, g.Call) and call.block == "mlp" and call.args[0].name == "d"
    assert isinstance(br, g.Branches) and (br.merge.kind, br.merge.line) == ("concat", 11)
    assert [len(b) for b in br.branches] == [1, 1] and br.branches[1][0].name == "side"
    # The block's body: arguments bound to the specs they fill, by canonical name, each
    # at its value.
    first = graph.blocks["mlp"].body[0]
    assert [(a.name, a.line, a.column) for a in first.args] == [("units", 2, 11),
                                                                ("activation", 2, 27)]


def test_the_graph_is_frozen_and_pickles():
    graph = resolve(parse(SRC))
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.model.body[1].kind = "dense"  # type: ignore[misc]
    copy = pickle.loads(pickle.dumps(graph))
    assert copy == graph and copy.source == SRC


def test_one_graph_two_conventions():
    """The graph holds no convention: analyzed under each, it gives what the text gives
    (batchnorm's 2n moving statistics: non-trainable parameters in Keras, buffers with
    num_batches_tracked in PyTorch)."""
    graph = resolve(parse(SRC))
    for convention in ("keras", "torch"):
        from_graph = symparam.analyze(graph, convention=convention)
        from_text = symparam.analyze(SRC, convention=convention)
        assert (from_graph.total, from_graph.buffers, from_graph.macs) == (
            from_text.total, from_text.buffers, from_text.macs)
    keras = symparam.analyze(graph, convention="keras")
    torch = symparam.analyze(graph, convention="torch")
    n = 16
    mlp = 4 * n * (n + 1) + n * (4 * n + 1)
    head = 2 * (n + 1) + 3 * (n + 1)
    assert keras.value(keras.total) == 4 * n + 3 * mlp + head
    assert keras.value(keras.non_trainable) == 2 * n
    assert torch.value(torch.total) == 2 * n + 3 * mlp + head
    assert torch.value(torch.buffers) == 2 * n + 1


def test_resolving_refuses_unknown_names_at_their_line():
    with pytest.raises(SourceError, match="unknown argument 'unit' for dense") as err:
        resolve(parse("model m(n = 4):\n    input [n]\n    dense 8, unit = 2\n"))
    assert (err.value.line, err.value.column) == (3, 14)
    with pytest.raises(SourceError, match=r"unknown layer 'dens' \(did you mean 'dense'") as err:
        resolve(parse("model m(n = 4):\n    input [n]\n    dens 8\n"))
    assert err.value.line == 3


def test_a_block_is_resolved_at_its_first_use_and_an_unused_one_not_at_all():
    src = ("block bad():\n    dense 4, nope = 1\n\nblock fine(k):\n    dense k\n\n"
           "model m(n = 4):\n    input [n]\n    fine 3\n    fine 5\n")
    graph = resolve(parse(src))
    assert list(graph.blocks) == ["fine"]  # `bad` is never used
    used = src.replace("    fine 5\n", "    bad\n")
    with pytest.raises(SourceError, match=r"unknown argument 'nope'.*\(in block 'bad' used "
                                          r"at line 10\)") as err:
        resolve(parse(used))
    assert err.value.line == 2


def test_a_repeat_over_a_number_that_changes_the_shape_is_unrolled_by_the_analysis():
    """The graph keeps one node; the analysis unrolls it (dense 8 then dense 8 on 8)."""
    src = "model m(n = 4):\n    input [n]\n    repeat 2:\n        dense 8\n"
    graph = resolve(parse(src))
    assert len(graph.model.body) == 2 and isinstance(graph.model.body[1], g.Repeat)
    stats = symparam.analyze(graph)
    assert [layer.name for layer in stats.layers] == ["input_layer", "dense", "dense_1"]
    assert stats.value(stats.total) == 8 * 5 + 8 * 9


def test_an_earlier_statement_s_problem_is_reported_first():
    """The resolver refuses line 4 (an unknown argument), but the walk meets line 3's
    problem (a convolution on a vector) first, and reports it, as before the graph."""
    src = "model m(n = 4):\n    input [n]\n    conv2d 3, 3\n    dense 8, bogus = 1\n"
    with pytest.raises(SourceError, match="unknown argument 'bogus'") as err:
        resolve(parse(src))
    assert err.value.line == 4
    with pytest.raises(SourceError, match=r"conv2d") as err:
        symparam.analyze(src)
    assert err.value.line == 3
    lenient = resolve(parse(src), strict=False)
    assert isinstance(lenient.model.body[-1], g.Invalid) and lenient.model.body[-1].line == 4
    # In a block, the refused line is reported where the block is used.
    src = ("block b():\n    dense 4, nope = 1\n\nmodel m(n = 4):\n    input [n]\n"
           "    repeat 2:\n        b\n")
    with pytest.raises(SourceError, match=r"unknown argument 'nope'.*\(in block 'b' used at "
                                          r"line 7\)") as err:
        symparam.analyze(src)
    assert err.value.line == 2


@pytest.mark.parametrize("src, line, message", [
    # The statement's input is checked before its arguments.
    ("model m(d = 6):\n    sigmoid [d]\n    dense d\n", 2, "layer 'sigmoid' has no input"),
    # A branch's problem comes before the statement's own (an unknown merge).
    ("model m(n = 4):\n    input [n]\n    branches dense:\n        branch:\n"
     "            add nowhere\n        branch:\n            dense 2\n", 5,
     "unknown tensor 'nowhere'"),
    # An argument's value, evaluated before a later argument is found unknown.
    ("model m(n = 4):\n    input [n]\n    dense [n] * 2, bogus = 1\n", 3,
     "expected a number"),
    # A required argument is missing after an earlier one fails to convert.
    ("model m(n = 4):\n    input [n, n, 3]\n    conv2d relu\n", 3,
     "conv2d argument 'filters': undefined symbol 'relu'"),
])
def test_errors_come_in_the_order_the_walk_meets_them(src, line, message):
    with pytest.raises(SourceError, match=re.escape(message)) as err:
        symparam.analyze(src)
    assert err.value.line == line
