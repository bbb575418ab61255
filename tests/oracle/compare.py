"""What a framework reports for a built model, and its differences from symparam.

>>> m = Measured("torch", {"total": 10, "trainable": 10, "non_trainable": 0, "buffers": 0})
>>> m.totals["total"]
10
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("trainable", "non_trainable", "buffers")


@dataclass
class Measured:
    """Totals (total, trainable, non_trainable, buffers) and, per node id, the output
    shape (batch left out), its counts by role and, if run, the forward pass's shape."""

    framework: str
    totals: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)


def _shapes(shapes) -> list:
    """Weight shapes as a sorted list: which tensors, whatever their names. A scalar
    is ()."""
    return sorted(tuple(int(d) for d in s) for s in shapes)


def differences(graph, measured: Measured) -> list[str]:
    """Every disagreement between symparam (``graph``) and the framework, as text;
    an empty list when they agree exactly."""
    fw = measured.framework
    out = [f"{key}: symparam {graph.totals[key]}, {fw} {measured.totals[key]}"
           for key in ("total", "trainable", "non_trainable", "buffers")
           if graph.totals[key] != measured.totals[key]]
    for node in graph.nodes:
        if node.kind == "input":
            continue
        got = measured.nodes.get(node.id)
        where = f"{node.id} ({node.kind}, line {node.line})"
        if got is None:
            out.append(f"{where}: not built in {fw}")
            continue
        for key in ("shape", "forward_shape"):
            if key in got and tuple(got[key]) != tuple(node.output_shape):
                out.append(f"{where}: output shape symparam {node.output_shape}, "
                           f"{fw} {tuple(got[key])}"
                           + (" (forward pass)" if key == "forward_shape" else ""))
        expect = {"trainable": node.counts["trainable"],
                  "non_trainable": node.counts["non_trainable"],
                  "buffers": node.counts["buffer"]}
        for role in ROLES:
            if got[role] != expect[role]:
                out.append(f"{where}: {role} symparam {expect[role]}, {fw} {got[role]}")
        if "weight_shapes" in got and _shapes(got["weight_shapes"]) != _shapes(
                node.weight_shapes):
            out.append(f"{where}: weight shapes symparam {_shapes(node.weight_shapes)}, "
                       f"{fw} {_shapes(got['weight_shapes'])}")
    return out
