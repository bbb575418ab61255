"""An analyzed symparam model as a flat graph of nodes with concrete values.

symparam keeps a repeat over a symbol rolled up: its layers appear once, with a
``multiplier``. A framework needs every copy, so :func:`build_graph` expands each
rolled repeat into ``count`` copies of its body, in sequence (copy k starts from copy
k-1's output). Every argument and shape becomes a Python int.

>>> import symparam
>>> s = symparam.analyze("model m(N = 3):\\n    input [4]\\n    repeat N:\\n        dense 4\\n")
>>> [n.id for n in build_graph(s).nodes]
['input_layer', 'dense#0', 'dense#1', 'dense#2']
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from symparam.layers.base import BUFFER, NON_TRAINABLE, SHARED, TRAINABLE

# Layer kinds whose main input is a tensor of integer indices.
INT_CONSUMERS = {"embedding"}


@dataclass
class Node:
    """One layer application (one copy of it), with concrete values."""

    id: str
    kind: str
    args: dict
    inputs: list            # ids of the nodes feeding this one, the main input first
    input_shapes: list      # tuples of ints, batch axis left out
    output_shape: tuple
    counts: dict            # role -> expected count for this one copy
    line: int = 0
    name: str = ""          # the layer's name in symparam
    shared: dict = field(default_factory=dict)  # weight name -> "layer/weight" it is
    # The shapes of the weights this node owns (not the shared ones), as tuples.
    weight_shapes: tuple = ()
    # The layer this node applies again (``reuse NAME``): every weight shared, with one
    # layer of the same kind, weight for weight. None otherwise (``tie`` is not reuse).
    reused: str | None = None


@dataclass
class Graph:
    """Nodes in execution order, the expected totals, and what frameworks need."""

    convention: str
    layout: str
    nodes: list
    totals: dict            # total / trainable / non_trainable / buffers
    int_inputs: set = field(default_factory=set)
    output: str = ""        # the symparam name of the layer whose tensor is the output

    @property
    def inputs(self) -> list:
        return [n for n in self.nodes if n.kind == "input"]

    @property
    def outputs(self) -> list:
        """The model's output: the last copy of the layer its body ends with. (Layers
        that do not reach it are not part of a Keras model; PyTorch registers them.)"""
        return [[n for n in self.nodes if n.name == self.output][-1]]


def concrete(stats, value):
    """A converted argument or shape with the model's values in effect, as Python
    ints, floats, strings, bools, None and tuples."""
    if isinstance(value, tuple):
        return tuple(concrete(stats, v) for v in value)
    if isinstance(value, list):
        return [concrete(stats, v) for v in value]
    if isinstance(value, dict):
        return {k: concrete(stats, v) for k, v in value.items()}
    if isinstance(value, sympy.Expr):
        v = stats.at(value)
        if not v.is_number:
            raise ValueError(f"{value} has no value: give every symbol a value")
        return int(v) if v.is_integer else float(v)
    return value


def scale_shift(args: dict, switch: str) -> tuple[bool, bool]:
    """(scale, center) of a normalization layer from its arguments, as the language
    defines them: Keras's ``center``/``scale`` switch each alone; PyTorch's ``switch``
    (affine, elementwise_affine) both; ``bias = false`` the shift alone."""
    on = args.get(switch, True)
    scale = args.get("scale", True) and on
    return scale, args.get("center", True) and on and args.get("bias", True)


def dispatch(builders: dict, module: str, node: Node, graph: "Graph"):
    """``builders[node.kind](node, graph)``; an unknown kind is an error naming it,
    never a silent skip."""
    builder = builders.get(node.kind)
    if builder is None:
        raise NotImplementedError(f"the oracle cannot build layer kind '{node.kind}' yet "
                                  f"(line {node.line}): add it to {module}.BUILDERS")
    return builder(node, graph)


def _frames(layer) -> list:
    """The rolled repeats a layer sits in, outermost first, as path prefixes."""
    return [layer.path[:i + 1] for i, p in enumerate(layer.path) if p.startswith("repeat ")]


def _group(layers: list, level: int) -> list:
    """Nest consecutive layers of one rolled repeat: items are ("layer", L) or
    ("repeat", label, items). Two rolled repeats side by side with the same count
    merge into one; shapes and counts are the same either way (both keep the shape)."""
    items, i = [], 0
    while i < len(layers):
        frames = _frames(layers[i])
        if len(frames) <= level:
            items.append(("layer", layers[i]))
            i += 1
            continue
        key, j = frames[level], i
        while j < len(layers) and len(_frames(layers[j])) > level \
                and _frames(layers[j])[level] == key:
            j += 1
        items.append(("repeat", key[-1], _group(layers[i:j], level + 1)))
        i = j
    return items


def _edge(items: list, last: bool):
    item = items[-1] if last else items[0]
    return item[1] if item[0] == "layer" else _edge(item[2], last)


class _Expander:
    def __init__(self, stats):
        self.stats = stats
        self.nodes: list[Node] = []
        self.shapes: dict = {}  # node id -> output shape
        self.kinds: dict = {}   # layer name -> kind
        self.locals = {str(s): s for s in stats.symbols}

    def count(self, label: str) -> int:
        expr = sympy.sympify(label[len("repeat "):], locals=self.locals)
        return concrete(self.stats, expr)

    def emit(self, items: list, env: dict, suffix: str):
        last = None
        for item in items:
            if item[0] == "layer":
                last = self.node(item[1], env, suffix)
                continue
            _, label, body = item
            entry, exit_name = _edge(body, False).inputs[0], _edge(body, True).name
            prev = None
            for k in range(self.count(label)):
                sub = dict(env)
                if k:
                    sub[entry] = prev
                prev = self.emit(body, sub, f"{suffix}#{k}")
            env[exit_name] = last = prev
        return last

    def node(self, layer, env: dict, suffix: str) -> str:
        s = self.stats
        counts = {role: concrete(s, sympy.Add(*[w.size for w in layer.weights
                                                  if w.role == role]))
                  for role in (TRAINABLE, NON_TRAINABLE, BUFFER)}
        nid = layer.name + suffix
        inputs = [env.get(i, i) for i in layer.inputs]
        # The shapes of every input, tensor arguments (attention's key) included.
        shapes = [concrete(s, tuple(x)) for x in layer.input_shapes]
        shapes += [self.shapes[i] for i in inputs[len(shapes):]]
        out = concrete(s, tuple(layer.output_shape))
        self.shapes[nid] = out
        shared = {w.name: w.shared_with for w in layer.weights if w.role == SHARED}
        owners = {v.split("/")[0] for v in shared.values()}
        reused = None
        if len(owners) == 1 and len(shared) == len(layer.weights):
            owner = owners.pop()
            if self.kinds.get(owner) == layer.kind and all(
                    k == v.split("/", 1)[1] for k, v in shared.items()):
                reused = owner
        self.kinds[layer.name] = layer.kind
        self.nodes.append(Node(nid, layer.kind, concrete(s, dict(layer.args)), inputs, shapes,
                               out, counts, layer.line, layer.name, shared=shared,
                               reused=reused, weight_shapes=tuple(
                                   concrete(s, tuple(w.shape)) for w in layer.weights
                                   if w.role != SHARED)))
        env[layer.name] = nid
        return nid


def build_graph(stats) -> Graph:
    """The graph of an analyzed model whose symbols all have values."""
    if not stats.complete:
        missing = [str(x) for x in stats.symbols if x not in stats.values]
        raise ValueError(f"symbols without a value: {', '.join(missing)}")
    ex = _Expander(stats)
    ex.emit(_group(list(stats.layers), 0), {}, "")
    totals = {"total": stats.value(stats.total), "trainable": stats.value(stats.trainable),
              "non_trainable": stats.value(stats.non_trainable),
              "buffers": stats.value(stats.buffers)}
    ints = {n.inputs[0] for n in ex.nodes if n.kind in INT_CONSUMERS and n.inputs}
    return Graph(stats.convention, stats.layout, ex.nodes, totals,
                 {i for i in ints if any(n.id == i and n.kind == "input" for n in ex.nodes)},
                 stats.output)
