"""The resolved graph of a model: frozen, convention-free, picklable data.

:mod:`symparam.resolve` builds it from the syntax tree; :mod:`symparam.analyze` walks it
once per (convention, values) to compute the stats. Resolving does what does not depend
on a convention: it finds each layer's kind and binds its arguments to the kind's
argument specs, finds blocks and binds a call's arguments to the block's parameters,
checks the statements' places (an input only in a model's body, `layout` first), and
refuses unknown names and arguments at their line. Shapes, counts and everything a
convention decides are the analyzer's.

Every node keeps the line and column of its text. Expressions stay the parser's
expression trees (:mod:`symparam.ast`, frozen data): what they mean depends on the block
arguments and `let` values in effect where they are evaluated, which is the analyzer's
walk. A repeat stays one node whatever its count (the analyzer unrolls it where it must);
a block is resolved once and its calls name it.

This module imports only :mod:`symparam.ast`.

>>> from symparam.parser import parse
>>> from symparam.resolve import resolve
>>> g = resolve(parse("model m(n = 4):\\n    input [n]\\n    dense 8, use_bias = false\\n"))
>>> layer = g.model.body[1]
>>> layer.kind, [(a.name, a.line, a.column) for a in layer.args]
('dense', [('units', 3, 11), ('bias', 3, 25)])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from . import ast


@dataclass(frozen=True)
class Node:
    line: int = field(default=0, kw_only=True, compare=False)
    column: int = field(default=0, kw_only=True, compare=False)


@dataclass(frozen=True)
class Bound(Node):
    """An argument bound to the spec it fills (its canonical name): its expression, or,
    for a tensor argument (attention's ``key = enc``), the tensor's name. The position
    is the expression's."""

    name: str
    expr: ast.Expr
    tensor: str = ""
    # Where the argument is written: ``name = value``'s start for a keyword, else the
    # value's position (messages about the option itself point there).
    written_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Apply(Node):
    """A layer application: the kind (``written`` as in the text, for messages; ``kind``
    its canonical name), its arguments bound to their specs (in the order given), the
    named tensors it merges with the current one (for merges), and its ``as`` name."""

    kind: str
    written: str
    args: tuple[Bound, ...] = ()
    merges: tuple[Reference, ...] = ()
    name: Optional[str] = None
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)

    def given(self, name: str) -> Optional[Bound]:
        return next((a for a in self.args if a.name == name), None)


@dataclass(frozen=True)
class Reference(Node):
    """The name of a tensor, or of a layer, where the text names one."""

    name: str


@dataclass(frozen=True)
class Input(Node):
    dims: tuple[ast.Expr, ...]
    name: Optional[str] = None
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Let(Node):
    name: str
    value: ast.Expr


@dataclass(frozen=True)
class Layout(Node):
    value: str  # channels_last or channels_first (checked)


@dataclass(frozen=True)
class From(Node):
    name: str


@dataclass(frozen=True)
class Tie(Node):
    """``layer ..., tie = TARGET``: the layer, whose main weight is TARGET's. The node's
    position is the ``tie = ...`` argument's."""

    layer: Union[Apply, Invalid]
    target: Reference


@dataclass(frozen=True)
class Reuse(Node):
    """``reuse TARGET [as NAME]``: a layer or block instance applied again."""

    target: Reference
    name: Optional[str] = None
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Call(Node):
    """A use of a block: its arguments bound to the block's parameters."""

    block: str
    args: tuple[Bound, ...]
    name: Optional[str] = None
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Residual(Node):
    """The body's output added (``merge``) to its input, or to its shortcut's output."""

    body: tuple[Step, ...]
    shortcut: Optional[tuple[Step, ...]]
    merge: Apply


@dataclass(frozen=True)
class Branches(Node):
    """Two or more bodies from one input, their outputs merged by ``merge``."""

    branches: tuple[tuple[Step, ...], ...]
    merge: Union[Apply, Invalid]  # Invalid: refused after the branches are walked


@dataclass(frozen=True)
class Repeat(Node):
    """A body repeated ``count`` times: one node, whatever the count. ``index_at`` is
    the first use of the index ``var`` in the body, if any (a body that uses its
    index differs from copy to copy, so it is unrolled)."""

    count: ast.Expr
    var: Optional[str]
    body: tuple[Step, ...]
    index_at: Optional[tuple[int, int]] = None


@dataclass(frozen=True)
class Moe(Node):
    """A mixture of experts: ``router`` (a router application) on the input, the
    expert ``body`` (``experts`` copies, ``top_k`` of them run per position) and the
    shared experts (``shared`` copies of the ``shared_body``, or of the expert body
    when it is None), always run; ``mix`` (an expert_mix application, its tensor
    arguments supplied by the walk) combines them."""

    experts: ast.Expr
    top_k: ast.Expr
    shared: Optional[ast.Expr]
    body: tuple[Step, ...]
    shared_body: Optional[tuple[Step, ...]]
    router: Apply
    mix: Apply


@dataclass(frozen=True)
class Invalid(Node):
    """A statement the resolver refused, left in its place when the analysis asked for
    it (``resolve(..., strict=False)``): the analysis reports it when its walk gets
    there, so a problem of an earlier statement (a shape that does not fit) is still
    reported first. The rest of its body is left out: the walk stops here. A graph in
    stats never holds one (the walk reached every statement)."""

    message: str
    # What the walk does first, as it did before meeting this problem: check that the
    # statement (at ``statement``) has an input (``needs_input`` names it: "layer
    # 'dense'"), then evaluate the arguments and find the tensors given before the
    # refused one (``first``).
    needs_input: str = ""
    statement: tuple[int, int] = (0, 0)
    first: tuple = ()  # Bound and Reference nodes


Step = Union[Apply, Input, Let, Layout, From, Tie, Reuse, Call, Residual, Branches, Repeat,
             Moe, Invalid]


@dataclass(frozen=True)
class Definition(Node):
    """A model or a block: its name, parameters (with their default expressions) and
    resolved body."""

    kind: str  # "model" or "block"
    name: str
    params: tuple[ast.Param, ...]
    body: tuple[Step, ...]


@dataclass(frozen=True)
class Graph:
    """One model of a file, resolved, with the blocks it uses (by name), the
    file's convention line (``convention``: its value, line and column, or None) and
    the text it came from (errors found later show their line).

    ``symparam.analyze`` takes a Graph as it takes text: ``analyze(stats.document,
    convention="torch")`` analyzes the same model under the other convention."""

    model: Definition
    blocks: dict = field(default_factory=dict)  # name -> Definition
    convention: Optional[tuple[str, int, int]] = None
    source: str = ""
    filename: Optional[str] = None

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def written(self) -> str:
        """The convention the file is written in (keras unless it says)."""
        return self.convention[0] if self.convention else "keras"
