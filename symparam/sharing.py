"""Weight sharing: a layer tied to another's weight, and a layer or block applied again.

Two statements of the language, both counted the way the frameworks count them (Keras's
``count_params`` and PyTorch's ``parameters()`` see a shared tensor once):

- ``dense V, bias = false, tie = wte``: the layer's main weight (its first: a kernel or
  weight matrix) *is* the weight of layer ``wte`` with the same shape, or its transpose
  (Keras's Dense kernel is ``d x V``, the embedding table ``V x d``). Its other weights
  (a bias) stay its own.
- ``reuse NAME [as NEW]``: applies the layer or block instance ``NAME`` again, to the
  current tensor, with the same weights (a Siamese network's shared encoder).

A shared weight stays in its layer's weights with the role ``shared`` and
``shared_with = "wte/embeddings"``, so it is listed but counted once, where it was made.

>>> from symparam import analyze
>>> src = '''
... model lm(V = 100, d = 8, T = 7):
...     input [T]
...     embedding V, d as wte
...     dense V, bias = false, tie = wte
... '''
>>> s = analyze(src)
>>> s.total, s.layers[-1].weights[0].shared_with
(V*d, 'wte/embeddings')
"""
from __future__ import annotations

from dataclasses import replace

import sympy

from . import graph as g
from .layers.base import SHARED, Weight, closest, fmt_shape
from .layers.merge import never_equal
from .stats import LayerStats, at
from .values import Env, node_error


def _agreement(a: tuple, b: tuple) -> bool | None:
    """True if two shapes are equal whatever the symbols' values, False if they can
    never be, None if that depends on the values (12 and d)."""
    if len(a) != len(b) or any(never_equal(p, q) for p, q in zip(a, b)):
        return False
    if all(sympy.expand(p - q) == 0 for p, q in zip(a, b)):
        return True
    return None


def _equal(a: tuple, b: tuple):
    """The condition that two shapes of one rank are equal."""
    return sympy.And(*[sympy.Eq(p, q) for p, q in zip(a, b)])


def _dims(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def share(w: Weight, owner: str, target: Weight, why: str) -> Weight:
    """``w`` marked as the same tensor as ``owner``'s weight ``target``."""
    return replace(w, role=SHARED, shared_with=f"{owner}/{target.name}", why=why)


class SharingMixin:
    """The two sharing statements, for the analyzer (see :mod:`symparam.analyze`):
    ``tie`` and ``reuse`` steps of the graph."""

    def step_tie(self, node: g.Tie, scope) -> None:
        """``layer ..., tie = TARGET``: the layer, then its main weight made TARGET's."""
        target = self.find_layer(node.target.name, node.target, scope)
        before = len(self.layers)
        self.run_step(node.layer, scope)  # an Invalid one (refused) raises here
        self.tie(self.layers[before], target, node)

    def find_layer(self, name: str, where: g.Node, scope) -> LayerStats:
        by_name = {layer.name: layer for layer in self.layers}
        # Innermost first: this copy of an unrolled repeat, this block instance, the model.
        for candidate in (scope.prefix + name + scope.suffix, scope.prefix + name, name):
            if candidate in by_name:
                return by_name[candidate]
        close = closest(name, list(by_name))
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise node_error(where, f"no layer '{name}' before this line{hint}")

    def tie(self, layer: LayerStats, target: LayerStats, tie: g.Tie) -> None:
        own = [w for w in layer.weights if w.role != SHARED]
        if not own:
            raise node_error(tie, f"tie: layer '{layer.name}' has no weight to share")
        if target.multiplier != 1:
            raise node_error(tie, f"tie: '{target.name}' stands {target.multiplier} times "
                                  f"(in a repeat); tie to a layer that stands once")
        w = own[0]
        candidates = [t for t in target.weights if t.role != SHARED]
        # Each weight of the target as it is, then transposed: one equal to w's shape
        # whatever the values is taken; else the ones equal for some values only, under
        # a check made when values are given.
        fits = [(t, how, shape) for how, flip in (("", False), (" (transposed)", True))
                for t in candidates if len(t.shape) == 2 or not flip
                for shape in [tuple(reversed(t.shape)) if flip else t.shape]]
        sure = [f for f in fits if _agreement(w.shape, f[2]) is True]
        maybe = [f for f in fits if _agreement(w.shape, f[2]) is None]
        if sure or maybe:
            t, how, _ = (sure or maybe)[0]
            if not sure:
                shapes = " or ".join(f"{t.name} {_dims(shape)}{how}" for t, how, shape in maybe)
                self.ctx.require(sympy.Or(*[_equal(w.shape, shape) for *_, shape in maybe]),
                                 lambda: f"tie = {target.name}: {layer.kind}'s {w.name} of "
                                         f"shape {_dims(w.shape)} must have the shape of "
                                         f"{target.name}'s {shapes}")
            weights = tuple(share(v, target.name, t, f"the same tensor as "
                                  f"{target.name}'s {t.name}{how}, counted there")
                            if v is w else v for v in layer.weights)
            self.layers[self.layers.index(layer)] = replace(layer, weights=weights)
            return
        have = ", ".join(f"{t.name} {_dims(t.shape)}" for t in candidates)
        raise node_error(tie, f"tie = {target.name}: {layer.kind}'s {w.name} of shape "
                              f"{_dims(w.shape)} matches no weight of "
                              f"'{target.name}' ({have or 'it has none'}), even transposed")

    def step_reuse(self, node: g.Reuse, scope) -> None:
        name = node.target.name
        x = self.need_input(node, scope, "reuse")
        if name in self.block_instances:
            block, params = self.block_instances[name]
            originals = [layer for layer in self.layers if name in layer.path]
            new = node.name or self.auto_name(f"{name}_reuse")
            if node.name:
                self.claim_name(new, node)
            inner = type(scope)(Env(dict(params)), {}, x, scope.multiplier,
                                scope.path + (new,), prefix=f"{new}/", active=scope.active)
            start = len(self.layers)
            self.run_body(block.body, inner)
            self.share_all(node, originals, start)
            out = inner.current
        else:
            original = self.find_layer(name, node.target, scope)
            if original.multiplier not in (1, scope.multiplier):
                raise node_error(node, f"reuse: '{original.name}' stands "
                                       f"{original.multiplier} times (in a repeat)")
            if original.name not in self.applied:
                raise node_error(node.target, f"reuse: '{name}' is an input, not a layer")
            kind, args = self.applied[original.name]
            start = len(self.layers)
            # The original's tensor arguments (attention's key and value) feed it again:
            # the same tensors, so the same producers among its inputs.
            extra = tuple(type(x)((), producer) for producer in original.inputs[1:])
            self.apply(kind, node, args, [x], scope, extra=extra, label=original.kind)
            self.share_all(node, [original], start)
            return
        if node.name:
            self.bind_tensor(scope, node.name, out, node)
        scope.current = out

    def share_all(self, node: g.Node, originals: list, start: int) -> None:
        """Mark every weight of the layers made since ``start`` as the matching weight
        of ``originals``; the structure and the weight shapes must agree."""
        made = self.layers[start:]
        pairs = list(zip(made, originals))
        if len(made) != len(originals) or any(m.kind != o.kind for m, o in pairs):
            raise node_error(node, "reuse: the layers made differ from the original's")
        for i, (m, o) in enumerate(pairs):
            if len(m.weights) != len(o.weights):
                raise node_error(node, f"reuse of '{o.name}': its weights differ here")
            weights = []
            for w, t in zip(m.weights, o.weights):
                agree = _agreement(w.shape, t.shape)
                if agree is not True:
                    problem = (f"reuse of '{o.name}': here its {w.name} would be "
                               f"{_dims(w.shape)} but it is {_dims(t.shape)}: the input "
                               f"{fmt_shape(m.input_shapes[0])} does not fit the layer "
                               f"made for {fmt_shape(o.input_shapes[0])}")
                    if agree is False:
                        raise node_error(node, problem)
                    self.ctx.where = at(node)  # the reuse's line, not the block's layers'
                    self.ctx.require(_equal(w.shape, t.shape), problem)
                weights.append(t if t.role == SHARED else
                               share(w, o.name, t, f"{o.name} applied again: the same "
                                                   f"{t.name}, counted there"))
            self.layers[start + i] = replace(m, weights=tuple(weights))
