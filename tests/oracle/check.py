"""One model through symparam and a framework: the list of differences.

>>> check("model m():\\n    input [3]\\n    dense 2\\n", "torch")  # doctest: +SKIP
[]
"""
from __future__ import annotations

import importlib

import symparam

from .compare import differences
from .graph import build_graph

FRAMEWORK = {"keras": "keras", "torch": "torch"}  # convention -> framework checked


def builder(framework: str):
    return importlib.import_module(f"{__package__}.{framework}_build")


def check(source: str, convention: str | None = None, forward: bool = True,
          values: dict | None = None) -> list[str]:
    """Analyze ``source`` (in ``convention``, or the file's; with ``values`` for its
    symbols, or their defaults), build it in that convention's framework, and return
    every difference (empty: they agree).

    A framework that refuses to build what symparam accepted is a difference too;
    symparam refusing the model raises its SymparamError (not a difference)."""
    stats = symparam.analyze(source, convention=convention, values=values)
    graph = build_graph(stats)
    try:
        measured = builder(FRAMEWORK[stats.convention]).measure(graph, forward=forward)
    except NotImplementedError:
        raise
    except Exception as err:  # the framework rejects the model symparam accepted
        return [f"{FRAMEWORK[stats.convention]} could not build or run the model: "
                f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"]
    return differences(graph, measured)
