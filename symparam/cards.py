"""A card for every layer kind: what ``symparam explain LAYER`` prints and what
``docs/layers.md`` lists.

A card's data come from two places. The layer kind states what no analysis can know:
its forward equation, the initial values of its weights and constants per framework,
and a tiny example (``input [n]``, ``dense u``). Everything else is *derived* by running
:func:`symparam.analyze` on that example in both conventions: the weights and their
shapes, the parameter counts by role, the output shape, and the differences between
Keras and PyTorch (found by comparing the two analyses). Nothing here prints:
:mod:`symparam.render.cards` lays a card out with the templates ``templates/card.*``.

>>> c = card("linear")
>>> c.name, c.keras.formula("total"), c.torch.formula("total")
('dense', 'u*(n + 1)', 'u*(n + 1)')
>>> c.keras.output_shape
(u,)

``symparam explain --reference -o docs/layers.md`` regenerates the layer reference.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import sympy

from . import conventions
from .analyze import analyze
from .compare import side_differences
from .errors import SymparamError, UsageError
from .layers import REGISTRY
from .layers.base import (ACTIVATIONS, BUFFER, NON_TRAINABLE, REQUIRED, SHARED, TRAINABLE,
                          Context, Family, LayerKind, closest)

CONVENTIONS = ("keras", "torch")
FRAMEWORK = {"keras": "Keras", "torch": "PyTorch"}
ROLE_TEXT = {TRAINABLE: "trainable", NON_TRAINABLE: "non-trainable", BUFFER: "buffer",
             SHARED: "shared"}
# Words a call may use that are not symbols of the example model.
_WORDS = {"true", "false", "none", "same", "valid", "causal", "nearest", "linear",
          "bilinear", "bicubic", "trilinear", "area", "concat", "sum", "mul", "ave",
          *ACTIVATIONS}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---- which kinds exist ---------------------------------------------------------------

def kinds() -> list[LayerKind]:
    """Every registered layer kind once, by family (see :class:`Family`: its order,
    then the order its first kind was registered), then in registration order."""
    seen: list[LayerKind] = []
    for kind in REGISTRY.values():
        if kind not in seen:
            seen.append(kind)
    first: dict = {}
    for i, kind in enumerate(seen):
        first.setdefault(kind.family, i)
    return sorted(seen, key=lambda k: (k.family.order, first[k.family]))


def families() -> list[tuple[Family, list[LayerKind]]]:
    """The families in their order, each with its kinds (see :func:`kinds`)."""
    out: dict[Family, list[LayerKind]] = {}
    for kind in kinds():
        out.setdefault(kind.family, []).append(kind)
    return list(out.items())


def family(kind: LayerKind) -> str:
    """The name of a kind's family: ``core``, ``conv``, ... (its ``family``)."""
    return kind.family.name


def find_kind(name: str) -> LayerKind:
    """The kind of a DSL name or alias; an unknown name lists the closest ones.

    >>> find_kind("linear").names[0]
    'dense'
    """
    kind = REGISTRY.get(name.strip().lower())
    if kind is not None:
        return kind
    close = closest(name, list(REGISTRY))
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise UsageError(f"unknown layer '{name}'{hint}; `symparam explain --list` lists "
                     f"every layer")


# ---- the data of a card ----------------------------------------------------------------

@dataclass(frozen=True)
class WeightRow:
    name: str
    shape: tuple
    role: str
    size: sympy.Expr
    why: str
    init: str

    @property
    def role_text(self) -> str:
        return ROLE_TEXT.get(self.role, self.role)


@dataclass(frozen=True)
class Side:
    """The example analyzed in one convention; ``error`` says why it could not be
    (a layer one framework lacks)."""

    convention: str
    source: str
    error: str = ""
    type: str = ""
    symbols: tuple = ()
    input_shapes: tuple = ()
    output_shape: tuple = ()
    weights: tuple[WeightRow, ...] = ()
    counts: dict = field(default_factory=dict)   # role -> structured sympy expression
    constants: tuple = ()                        # (name, initial value) pairs

    @property
    def framework(self) -> str:
        return FRAMEWORK[self.convention]

    @property
    def available(self) -> bool:
        return not self.error

    def formula(self, what: str) -> str:
        """A count as text: ``'u*(n + 1)'`` (what: total, trainable, non_trainable,
        buffers)."""
        return str(self.counts[what])


@dataclass(frozen=True)
class ArgRow:
    name: str
    default: str
    aliases: tuple
    doc: str


@dataclass(frozen=True)
class Card:
    kind: LayerKind
    name: str
    aliases: tuple
    family: str
    doc: str
    args: tuple[ArgRow, ...]
    equation: str
    where: str
    keras: Side
    torch: Side
    differences: tuple[str, ...]

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.keras, self.torch)

    def side(self, convention: str) -> Side:
        return self.keras if convention == "keras" else self.torch

    @property
    def symbols(self) -> tuple:
        out: list = []
        for s in self.sides:
            out += [x for x in s.symbols if x not in out]
        return tuple(out)


def _default_text(arg) -> str:
    d = arg.default
    if d is REQUIRED:
        return "required"
    if d is None:
        return "none"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, tuple):
        return "[" + ", ".join(str(i) for i in d) + "]"
    return str(d)


def _symbol_names(example, call: str, inputs: tuple) -> list[str]:
    """The symbols an example uses: identifiers that are not keyword names, known
    words, the layer's name or tensor names given with ``as``."""
    text = " ".join(inputs) + " " + call
    named = set(re.findall(r"\bas\s+([A-Za-z_]\w*)", text))
    out: list[str] = []
    for m in _IDENT.finditer(text):
        word = m.group()
        after = text[m.end():].lstrip()
        if (word in _WORDS or word in named or word == "as" or word in REGISTRY
                or (after.startswith("=") and not after.startswith("=="))):
            continue
        if word not in out:
            out.append(word)
    return out


def example_source(kind: LayerKind, convention: str, call: Optional[str] = None,
                   input_dims: Optional[str] = None) -> str:
    """The example model of a kind in one convention, as symparam source.

    >>> print(example_source(find_kind("dense"), "keras"))
    convention keras
    <BLANKLINE>
    model dense_example(n, u):
        input [n]
        dense u
    <BLANKLINE>
    """
    ex = kind.example
    if ex is None:
        raise UsageError(f"layer '{kind.names[0]}' has no example to analyze")
    torch = convention == "torch"
    inp = input_dims or (ex.torch_input if torch and ex.torch_input else ex.input)
    call = call or (ex.torch_call if torch and ex.torch_call else ex.call)
    inputs = (*ex.others, inp)
    symbols = _symbol_names(ex, call, inputs) if input_dims is None else []
    lines = [f"convention {convention}", "",
             f"model {kind.names[0]}_example({', '.join(symbols)}):"]
    lines += [f"    input {i}" for i in inputs]
    lines.append(f"    {call}")
    return "\n".join(lines) + "\n"


def _init_key(table: dict, name: str) -> str:
    """The key of a weight's initial value: its name, else its name without the
    layer suffix (weight_ih_l0 -> weight_ih) or its last part (query/kernel -> kernel)."""
    for key in (name, re.sub(r"_l\d+(_reverse)?$", "", name), re.split(r"[/.]", name)[-1]):
        if key in table:
            return key
    return name


def _init_of(table: dict, name: str) -> str:
    return table.get(_init_key(table, name), "")


def _side(kind: LayerKind, convention: str) -> Side:
    source = example_source(kind, convention)
    try:
        stats = analyze(source, convention=convention, symbolic=True)
    except SymparamError as err:
        message = str(err).splitlines()[0].split(": ", 1)[-1]
        prefix = f"{kind.names[0]}: "  # the analyzer names the layer; the card already does
        return Side(convention, source, error=message[len(prefix):] if message.startswith(
            prefix) else message)
    layer = stats.layers[-1]
    table = kind.init.get(convention, {})
    weights = tuple(WeightRow(w.name, tuple(w.shape), w.role, w.size, w.why,
                              _init_of(table, w.name)) for w in layer.weights)
    constants = tuple(kind.constants.get(convention, {}).items())
    counts = {"total": layer.params, "trainable": layer.trainable,
              "non_trainable": layer.non_trainable, "buffers": layer.buffers}
    return Side(convention, source, "", layer.type, tuple(stats.symbols),
                tuple(tuple(s) for s in layer.input_shapes), tuple(layer.output_shape),
                weights, counts, constants)



def card(name: str) -> Card:
    """The card of a layer kind, by any of its names."""
    kind = find_kind(name)
    keras, torch = _side(kind, "keras"), _side(kind, "torch")
    if not keras.available and not torch.available:
        raise SymparamError(f"the example of '{kind.names[0]}' does not analyze: "
                            f"{keras.error}")
    args = tuple(ArgRow(a.name, _default_text(a), tuple(a.aliases), a.doc) for a in kind.args)
    return Card(kind, kind.names[0], tuple(kind.names[1:]), family(kind), kind.doc, args,
                kind.equation, kind.where, keras, torch, side_differences(keras, torch))


# ---- the equation at the initial values ------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """A layer's output at its initial values for a given input (``output`` None,
    and ``reason`` set, where that is not deterministic)."""

    convention: str
    call: str
    input: object            # numpy array, batch first
    equation: str = ""       # LaTeX, the values put in
    values: tuple = ()
    output: object = None
    reason: str = ""


def parse_input(text: str):
    """An input batch from the command line: ``,`` separates values, ``;`` rows,
    ``|`` examples when each is a matrix; without ``|`` each row is one example.

    >>> parse_input("0,1;2,3").tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    >>> parse_input("1,2;3,4 | 5,6;7,8").shape
    (2, 2, 2)
    """
    import numpy as np

    def rows(part: str):
        out = []
        for row in part.split(";"):
            try:
                out.append([float(v) for v in row.split(",")])
            except ValueError:
                raise UsageError(f"--input '{text}': write numbers separated by ',' "
                                 f"(values), ';' (rows) and '|' (examples), e.g. "
                                 f"\"0,1;2,3\"") from None
        if len({len(r) for r in out}) != 1:
            raise UsageError(f"--input '{text}': every row needs as many values")
        return out

    parts = [p for p in text.split("|")]
    data = [rows(p) for p in parts] if len(parts) > 1 else rows(text)
    if len(parts) > 1 and len({(len(d), len(d[0])) for d in data}) != 1:
        raise UsageError(f"--input '{text}': every example needs the same shape")
    return np.array(data, dtype=np.float32)


def evaluate(name: str, batch, convention: str = "keras") -> Evaluation:
    """Evaluate a layer's forward equation at its initial values (inference).

    ``name`` is a layer name or a whole call with its arguments (``"groupnorm 2"``);
    ``batch`` the input as text (see :func:`parse_input`) or an array, batch first.

    >>> e = evaluate("batchnorm", "0,1;2,3")
    >>> e.output.tolist() == [[0.0, 0.9995003938674927], [1.9990007877349854, 2.9985013008117676]]
    True
    """
    import numpy as np

    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention '{convention}': use keras or torch")
    word = name.strip().split(None, 1)[0].rstrip(",")
    kind = find_kind(word)
    x = parse_input(batch) if isinstance(batch, str) else np.asarray(batch, dtype=np.float32)
    dims = "[" + ", ".join(str(d) for d in x.shape[1:]) + "]"
    call = name.strip() if name.strip() != word else None
    if call is None:
        ex = kind.example
        assert ex is not None  # every shipped kind has an example (tests/test_cards.py)
        call = (ex.torch_call if convention == "torch" and ex.torch_call else ex.call)
        call = kind.names[0] + call[len(call.split(None, 1)[0]):]
    if kind.inputs == "many":
        return Evaluation(convention, call, x, reason=(
            "a merge needs several input tensors; --input gives one"))
    if type(kind).at_init is LayerKind.at_init:  # no deterministic forward pass at all
        side = _side(kind, convention)
        return Evaluation(convention, call, x, reason=_not_evaluated(kind, side.weights,
                                                                     convention))
    source = example_source(kind, convention, call=call, input_dims=dims)
    try:
        stats = analyze(source, convention=convention, symbolic=True)
    except SymparamError as err:
        message = str(err).splitlines()[0].split(": ", 1)[-1]
        hint = (f" (give the arguments as numbers: symparam explain \"{kind.names[0]} ...\" "
                f"--input ...)" if "undefined symbol" in message else
                " (--input: ';' separates examples, or the rows of each example when '|' "
                "separates the examples)" if "expects a" in message else "")
        raise UsageError(f"{call} on an input of shape (None, {', '.join(map(str, x.shape[1:]))})"
                         f": {message}{hint}") from None
    layer = stats.layers[-1]
    ctx = Context(conventions.get(convention), stats.layout)
    at = kind.at_init(dict(layer.args), ctx)
    if at is None:
        return Evaluation(convention, call, x, reason=_not_evaluated(kind, layer.weights,
                                                                     convention))
    assert at.fn is not None  # at_init gives the forward function with the values
    out = np.asarray(at.fn(x), dtype=np.float32)
    expected = (x.shape[0], *(int(d) for d in layer.output_shape))
    if out.shape != expected:  # the evaluation and the analysis must agree
        raise SymparamError(f"internal: {call} evaluated to shape {out.shape}, the analysis "
                            f"says {expected}")
    return Evaluation(convention, call, x, at.equation, tuple(at.values), out)


def _not_evaluated(kind: LayerKind, weights, convention: str) -> str:
    table = kind.init.get(convention, {})
    random = [f"{w.name} ({_init_of(table, w.name) or 'random'})" for w in weights
              if w.role == TRAINABLE and not re.match(r"(zeros|ones|[-\d.]+)\b",
                                                      _init_of(table, w.name))]
    if random:
        return ("its initial weights are random: " + ", ".join(random)
                + "; the output depends on the seed")
    return "its output at the initial values is not computed here"
