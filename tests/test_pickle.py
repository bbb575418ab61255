"""Stats are pure data: the stats of every zoo model and every shipped example pickle,
and the unpickled stats give the same numbers as the originals.

The expected numbers are the original stats' own (what is checked here is that the
round trip loses nothing; test_zoo.py checks them against the frameworks). The
stats are pickled *before* anything is asked of them, so the lazy parts (the costs,
computed when first asked) are computed from the unpickled data alone.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import sympy

import symparam
from symparam import SymparamError
from symparam.resources import resource_dir

FILES = sorted(resource_dir("zoo").glob("*.symp")) + sorted(
    resource_dir("examples").glob("*.symp"))


def _cases():
    for path in FILES:
        doc = symparam.parse_file(path)
        for model in doc.models:
            for convention in ("keras", "torch"):
                yield pytest.param(path, model, convention,
                                   id=f"{path.parent.name}/{path.stem}:{model}:{convention}")


def _numbers(stats: symparam.ModelStats) -> dict:
    """Everything the round trip must keep: formulas, their values, MACs, shapes."""
    out = {what: getattr(stats, what)
           for what in ("total", "trainable", "non_trainable", "buffers", "macs")}
    out.update({f"{what} value": stats.value(getattr(stats, what))
                for what in ("total", "trainable", "non_trainable", "buffers", "macs")})
    out["layers"] = [(layer.name, layer.kind, layer.type, layer.line, layer.column,
                      layer.input_shapes, layer.output_shape, layer.params, layer.buffers,
                      layer.macs, layer.in_model, layer.inputs)
                     for layer in stats.layers]
    out["shapes at values"] = [stats.shape_at(layer.output_shape) for layer in stats.layers]
    out["uncounted"] = stats.uncounted
    out["flops"] = stats.flops(backward=True, bias=True, activations=True)
    # At values other than the ones in effect: every symbol doubled.
    doubled = {s: 2 * stats.values.get(s, 3) for s in stats.symbols}
    out["doubled"] = [sympy.sympify(getattr(stats, what)).xreplace(doubled)
                      for what in ("total", "buffers", "macs")]
    out["checks"] = [(cond, symparam_message(message), getattr(where, "line", 0))
                     for cond, message, where in stats.checks]
    return out


def symparam_message(message) -> str:
    from symparam.layers.base import message_text
    return message_text(message)


@pytest.mark.parametrize("path, model, convention", list(_cases()))
def test_stats_pickle_and_keep_their_numbers(path: Path, model: str, convention: str):
    try:
        stats = symparam.analyze(path, model=model, convention=convention)
    except SymparamError as err:  # a model one framework cannot express
        pytest.skip(f"{model} is not a {convention} model: {err.message}")
    blob = pickle.dumps(stats)
    copy = pickle.loads(blob)
    assert isinstance(copy, symparam.ModelStats)
    assert (copy.name, copy.convention, copy.layout) == (model, convention, stats.layout)
    assert copy.symbols == stats.symbols and copy.values == stats.values
    assert _numbers(copy) == _numbers(stats)
    # Asked again, after everything was computed: still pickles, still the same.
    again = pickle.loads(pickle.dumps(stats))
    assert _numbers(again) == _numbers(stats)


@pytest.mark.parametrize("path, model, convention", list(_cases())[:6])
def test_unpickled_stats_analyze_again_under_the_other_convention(path, model, convention):
    """What a renderer needs to analyze the same model under the other convention is
    in the stats (and pickles): ``analyze(stats.document, ...)``."""
    try:
        stats = symparam.analyze(path, model=model, convention=convention)
    except SymparamError as err:
        pytest.skip(f"{model} is not a {convention} model: {err.message}")
    copy = pickle.loads(pickle.dumps(stats))
    other = "torch" if convention == "keras" else "keras"
    try:
        expected = symparam.analyze(path, model=model, convention=other)
    except SymparamError:
        pytest.skip(f"{model} is not a {other} model")
    again = symparam.analyze(copy.document, model=copy.name, convention=other)
    assert (again.total, again.buffers, again.macs) == (expected.total, expected.buffers,
                                                       expected.macs)


def test_a_conv_model_pickles():
    """The case that failed: a layer whose cost is computed lazily (a convolution)."""
    src = "model m(H = 8, C = 3):\n    input [H, H, C]\n    conv2d 4, 3\n    dense 2\n"
    stats = symparam.analyze(src)
    copy = pickle.loads(pickle.dumps(stats))
    assert copy.value(copy.macs) == stats.value(stats.macs) == 6 * 6 * 4 * 27 + 6 * 6 * 2 * 4
    assert copy.value(copy.total) == 4 * 28 + 2 * 5
