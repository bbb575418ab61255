"""Frozen weights and free learned tensors, for the analyzer (:mod:`symparam.analyze`).

Two statements of the language:

- ``frozen:`` BODY, and ``trainable = false`` on any layer, block call, ``reuse`` or
  ``param`` (one place for every kind, built-in or plugin): the weights of those layers
  are not trained. Keras (``layer.trainable = False``) counts them as non-trainable
  parameters; PyTorch (``requires_grad_(False)``) keeps them as parameters whose
  gradient is not computed: both are the role ``non_trainable``, so ``count`` splits
  trainable from non-trainable in both, and ``memory`` gives gradients and optimizer
  state to trainable weights only. Buffers stay buffers. A weight shared with another
  layer (``tie``, ``reuse``) is one tensor: freezing any layer that uses it freezes it
  where it is made, as PyTorch's ``requires_grad`` (one flag per tensor) and Keras's
  ``trainable`` (one flag per layer object, which ``reuse`` calls again) do.
  ``trainable = true`` is the default: it does not unfreeze a layer inside ``frozen:``.
- ``param [D1, ...] [, buffer = true] as NAME``: a learned tensor of that shape, as a
  framework stores it (``nn.Parameter(torch.zeros(1, 1, d))``, Keras's
  ``add_weight(shape=(1, 1, d))``), that merges take by name: ``concat cls, axis = 1``
  (a class token), ``add pos`` (a position embedding), ``multiply gamma`` (a layer
  scale). With ``buffer = true`` it is state beside the weights: a buffer in PyTorch,
  a non-trainable weight in Keras (the roles of BatchNormalization's statistics).

A param's shape has no implicit batch axis: merged with the data (its shape per
example, the batch left out), it is broadcast as NumPy broadcasts it against the data
*with* its batch axis, shapes aligned from the right: ``(1, 1, d)`` and ``(d,)`` both
broadcast over ``(batch, T, d)``. A concatenation broadcasts only the batch axis (what
``cls.expand(batch, -1, -1)`` does), so a concatenated param has the data's rank with
a first axis of 1: ``param [1, 1, d]``.

>>> from symparam import analyze
>>> src = '''
... model vit(T = 196, d = 768):
...     input [T, d]
...     param [1, 1, d] as cls
...     concat cls, axis = 1
...     param [1, T + 1, d], trainable = false as pos
...     add pos
... '''
>>> s = analyze(src, convention="torch")
>>> s.layers[-1].output_shape, s.total, s.trainable, s.non_trainable
((T + 1, d), d*(T + 1) + d, d, d*(T + 1))
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
import sympy

from . import graph as g
from .layers import base as lb
from .layers.base import NON_TRAINABLE, SHARED, TRAINABLE, ArgError, Weight, fmt_shape
from .layers.merge import Concat, Elementwise
from .stats import LayerStats
from .values import Word, describe, evaluate, node_error, undefined

FROZEN_WHY = "frozen (trainable = false): kept, not trained"
PARAM_KINDS = ("param",)  # the LayerStats kind of a param (not a registered layer kind)


def _flag(expr, env, what: str) -> bool:
    """A true/false option of a statement (``trainable``, ``buffer``)."""
    value = evaluate(expr, env)
    if isinstance(value, Word):  # an undefined name: a misspelt true or false?
        close = lb.closest(value.text, ("true", "false"), 1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise node_error(expr, f"{what}: expected true or false, got the undefined name "
                               f"'{value.text}'{hint}")
    if not isinstance(value, bool):
        raise node_error(expr, f"{what}: expected true or false, got {describe(value)}")
    return value


def frozen_weight(w: Weight) -> Weight:
    """A trainable weight, frozen; other roles (buffers, statistics, shared) unchanged."""
    return replace(w, role=NON_TRAINABLE, why=FROZEN_WHY) if w.role == TRAINABLE else w


class LearnedMixin:
    """The ``frozen`` and ``param`` steps of the graph, and params in merges. The
    analyzer gives ``tensor_type``, its tensors' class (a shape, a producer, ``param``)."""

    tensor_type: type
    if TYPE_CHECKING:  # what the analyzer gives the mixin
        layers: list[LayerStats]
        ctx: lb.Context

        def run_body(self, steps, scope) -> None: ...
        def count_layer(self, node: g.Node) -> None: ...
        def layer_name(self, node: g.Node, auto: str, scope) -> str: ...
        def bind_tensor(self, scope, name: str, tensor, node: g.Node) -> None: ...

    # ---- frozen ---------------------------------------------------------------------
    def step_freeze(self, node: g.Freeze, scope) -> None:
        if node.trainable is not None and _flag(node.trainable, scope.env, "trainable"):
            self.run_body(node.body, scope)  # trainable = true: the default
            return
        start = len(self.layers)
        self.run_body(node.body, scope)
        self.freeze(start)

    def freeze(self, start: int) -> None:
        """Freeze the layers made since ``start``, and the weights they share, where
        those are made (one tensor, one flag)."""
        owners: dict[str, set[str]] = {}
        for i in range(start, len(self.layers)):
            layer = self.layers[i]
            self.layers[i] = replace(layer, weights=tuple(frozen_weight(w)
                                                          for w in layer.weights))
            for w in layer.weights:
                if w.role == SHARED and w.shared_with:
                    owner, _, weight = w.shared_with.rpartition("/")
                    owners.setdefault(owner, set()).add(weight)
        if not owners:
            return
        for i, layer in enumerate(self.layers):
            names = owners.get(layer.name)
            if names:
                self.layers[i] = replace(layer, weights=tuple(
                    frozen_weight(w) if w.name in names else w for w in layer.weights))

    # ---- param ----------------------------------------------------------------------
    def step_param(self, node: g.Param, scope) -> None:
        dims = []
        for item in node.dims:
            value = evaluate(item, scope.env)
            try:
                dims.append(lb.size(value))
            except ArgError as err:
                if isinstance(value, Word):
                    raise undefined(value, scope.env) from None
                raise node_error(item, f"param dimension: {err}") from None
        shape = tuple(dims)
        buffer = node.buffer is not None and _flag(node.buffer, scope.env, "buffer")
        conv = self.ctx.convention
        if buffer:
            role = conv.statistics  # PyTorch: a buffer; Keras: a non-trainable weight
            why = self.ctx.pick(keras="state beside the weights (buffer = true): a "
                                      "non-trainable weight, not trained",
                                torch="state beside the weights (buffer = true): a "
                                      "buffer, not a parameter")
        else:
            role, why = TRAINABLE, ""
        self.count_layer(node)
        name = self.layer_name(node, node.name, scope)
        type_name = self.ctx.pick(keras="Variable",
                                  torch="Buffer" if buffer else "Parameter")
        self.layers.append(LayerStats(
            name, "param", type_name, node.line, node.column, (), shape,
            (Weight(node.name, shape, role, why),), scope.multiplier, scope.path,
            {"shape": shape, "buffer": buffer}))
        self.bind_tensor(scope, node.name, self.tensor_type(shape, name, param=True), node)

    def not_param(self, tensor, node: g.Node, name: str, use: str):
        """``tensor``, refused when it is a param: only merges take one."""
        if getattr(tensor, "param", False):
            raise node_error(node, f"'{name}' is a learned tensor (param), not the data: "
                                   f"{use}; merge it into the data instead (concat "
                                   f"{name}, add {name}, multiply {name})")
        return tensor

    def param_shapes(self, kind: lb.LayerKind, node: g.Apply, tensors: list,
                     label: str) -> list:
        """The merge's inputs, each param broadcast against the data (the current
        tensor) as NumPy does against the data's full shape, its batch axis included;
        a concatenation broadcasts the batch axis only. (A data axis of 1 is not
        widened by a param: the merge then refuses the shapes.)"""
        if not isinstance(kind, (Elementwise, Concat)):
            raise node_error(node, f"{label} cannot take a learned tensor (param): only "
                                   f"add, subtract, multiply, average, maximum, minimum "
                                   f"and concat broadcast one")
        data = tensors[0]
        rank = len(data.shape) + 1  # with the batch axis
        out = [data]
        for t, where in zip(tensors[1:], node.merges):
            if not t.param:
                out.append(t)
                continue
            written = "[" + ", ".join(str(d) for d in t.shape) + "]"
            if len(t.shape) > rank:
                raise node_error(where, f"{label}: param {where.name} {written} has more "
                                        f"axes than the data {fmt_shape(data.shape)}")
            if isinstance(kind, Concat) and len(t.shape) != rank:
                raise node_error(where, f"{label}: param {where.name} {written} is "
                                        f"concatenated to data of shape "
                                        f"{fmt_shape(data.shape)}: it needs {rank} axes, "
                                        f"the first of size 1 for the batch (param [1, ...])")
            full = (sympy.Integer(1),) * (rank - len(t.shape)) + tuple(t.shape)
            if full[0] != 1:
                raise node_error(where, f"{label}: param {where.name} {written}: its first "
                                        f"axis stands for the batch of {fmt_shape(data.shape)}"
                                        f" and must be 1, not {full[0]}")
            if isinstance(kind, Concat):
                shape = full[1:]
            else:
                shape = tuple(d if p == 1 else p for p, d in zip(full[1:], data.shape))
            out.append(self.tensor_type(shape, t.producer))
        return out
