"""The syntax tree of symparam's language: plain frozen data, built by the parser.

Every node keeps the line and column it came from, so every later error can point
at the text that caused it. Checks live in the analyzer, not here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union


@dataclass(frozen=True)
class Node:
    line: int = field(default=0, kw_only=True, compare=False)
    column: int = field(default=0, kw_only=True, compare=False)


# ---- expressions ---------------------------------------------------------------
@dataclass(frozen=True)
class Num(Node):
    text: str


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple["Expr", ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # ** (a chain of + - or * / // % is a Chain)
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Chain(Node):
    """Operators of one precedence level, applied left to right: ``a + b - c`` is
    ``Chain(a, (("+", b), ("-", c)))``. Flat however long, so nothing recurses on it."""

    first: "Expr"
    rest: tuple[tuple[str, "Expr"], ...]


@dataclass(frozen=True)
class Neg(Node):
    operand: "Expr"


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple["Expr", ...]


Expr = Union[Num, Name, Str, Call, BinOp, Chain, Neg, ListExpr]


# ---- statements ----------------------------------------------------------------
@dataclass(frozen=True)
class Kwarg(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Let(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Input(Node):
    dims: ListExpr
    name: Optional[str] = None
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Layout(Node):
    value: str


@dataclass(frozen=True)
class From(Node):
    name: str


@dataclass(frozen=True)
class Layer(Node):
    kind: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[Kwarg, ...] = ()
    name: Optional[str] = None
    # (line, column) of the NAME after `as`, so a duplicate name can point at it.
    name_at: tuple[int, int] = field(default=(0, 0), kw_only=True, compare=False)


@dataclass(frozen=True)
class Residual(Node):
    body: tuple["Stmt", ...]
    shortcut: Optional[tuple["Stmt", ...]] = None


@dataclass(frozen=True)
class Branches(Node):
    merge: str
    kwargs: tuple[Kwarg, ...]
    branches: tuple[tuple["Stmt", ...], ...]


@dataclass(frozen=True)
class Repeat(Node):
    count: Expr
    var: Optional[str]
    body: tuple["Stmt", ...]


@dataclass(frozen=True)
class Moe(Node):
    """``moe E, top_k = k, ...:`` with the expert as its body, and the ``shared:``
    body (the shared experts), if any."""

    args: tuple[Expr, ...]
    kwargs: tuple[Kwarg, ...]
    body: tuple["Stmt", ...]
    shared: Optional[tuple["Stmt", ...]] = None


Stmt = Union[Let, Input, Layout, From, Layer, Residual, Branches, Repeat, Moe]


# ---- definitions ---------------------------------------------------------------
@dataclass(frozen=True)
class Param(Node):
    name: str
    default: Optional[Expr] = None
    latex: Optional[str] = None  # how derivations print the symbol, when the file says


@dataclass(frozen=True)
class Definition(Node):
    """A ``model`` or a ``block``: a name, its parameters and its body."""

    kind: str  # "model" or "block"
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Convention(Node):
    value: str


@dataclass(frozen=True)
class Document:
    """A parsed file: its models and blocks in order, and the file's convention line."""

    definitions: tuple[Definition, ...]
    convention: Optional[Convention]
    source: str
    filename: Optional[str] = None

    @property
    def models(self) -> dict[str, Definition]:
        return {d.name: d for d in self.definitions if d.kind == "model"}

    @property
    def blocks(self) -> dict[str, Definition]:
        return {d.name: d for d in self.definitions if d.kind == "block"}
