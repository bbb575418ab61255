"""Syntax tree to resolved graph (:mod:`symparam.graph`): what does not depend on a
convention or on the symbols' values.

It chooses the model, finds each statement's layer kind or block, binds arguments to
the kind's specs (positional slots, keywords and their aliases, required ones) and a
block call's arguments to the block's parameters, and checks where statements stand
(an input in a model's body only, ``layout`` first and once), that blocks do not call
themselves, and that nothing nests past MAX_NESTING. Each problem is one
:class:`SourceError` at its line, the same one the analysis would meet first.

A block is resolved once, at its first use, so an error in its body says where it was
used (``in block 'b' used at line 7``), and a block never used is not checked, as
before there was a graph.

It may import the syntax tree, the graph, the layer registry (for the argument specs),
values (for ``find_name`` and positions) and errors; never the analysis or render.

>>> from symparam.parser import parse
>>> g = resolve(parse("model m(n = 4):\\n    input [n]\\n    dense 8, bogus = 1\\n"))
Traceback (most recent call last):
  ...
symparam.errors.SourceError: line 3, column 14: unknown argument 'bogus' for dense; its arguments: units, activation, bias
"""
from __future__ import annotations

from typing import Optional

from . import ast
from . import graph as g
from .errors import SourceError, SymparamError, UsageError
from .layers.base import REGISTRY, REQUIRED, LayerKind, closest
from .limits import MAX_NESTING
from .values import find_name, node_error

LAYOUTS = ("channels_last", "channels_first")
# Statement keywords, offered beside layer names when a layer is unknown (`inptu`).
STATEMENTS = ("input", "let", "from", "layout", "repeat", "residual", "branches")
REUSE = "reuse"  # the statement `reuse NAME`, written like a layer
TIE = "tie"      # the argument `tie = NAME`, which any layer takes


def choose(doc: ast.Document, name: Optional[str]) -> ast.Definition:
    """The model ``name`` of the document (its only model when None), after checking the
    names of its definitions."""
    models = doc.models
    if not models:
        raise SymparamError("no model in this file: declare one with `model NAME(...):`")
    seen: dict[str, ast.Definition] = {}
    for d in doc.definitions:
        if d.name in seen:
            raise node_error(d, f"duplicate name '{d.name}': a {seen[d.name].kind} of that "
                                f"name is defined at line {seen[d.name].line}")
        if d.kind == "block" and (d.name in REGISTRY or d.name == REUSE):
            raise node_error(d, f"block '{d.name}' has the name of a built-in layer or "
                                f"statement; rename it")
        seen[d.name] = d
    if name is None:
        if len(models) > 1:
            raise UsageError(f"this file has {len(models)} models ({', '.join(models)}): "
                             f"choose one with --model")
        return next(iter(models.values()))
    if name not in models:
        close = closest(name, list(models))
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(f"no model '{name}'{hint}; models here: {', '.join(models)}")
    return models[name]


def resolve(doc: ast.Document, model: Optional[str] = None, strict: bool = True) -> g.Graph:
    """The graph of one model of ``doc`` (its only one when ``model`` is None).

    ``strict=False`` leaves a refused statement in place as a :class:`graph.Invalid` (and
    the rest of its body out) instead of raising: the analysis raises it when it gets
    there, after the problems of the statements before it."""
    definition = choose(doc, model)
    resolver = _Resolver(doc, strict)
    body = resolver.body(definition.body, top=True)
    conv = doc.convention
    return g.Graph(g.Definition("model", definition.name, definition.params, body,
                                line=definition.line, column=definition.column),
                   dict(resolver.blocks),
                   (conv.value, conv.line, conv.column) if conv is not None else None,
                   doc.source, doc.filename)


def _position(node) -> dict:
    return {"line": node.line, "column": node.column}


class _Resolver:
    def __init__(self, doc: ast.Document, strict: bool = True):
        self.doc = doc
        self.strict = strict
        self.sources = doc.blocks             # block definitions, by name
        self.blocks: dict[str, g.Definition] = {}  # resolved, at their first use
        self.stack: list[str] = []             # blocks being resolved, outermost first
        self.depth = 0    # bodies being resolved, blocks' bodies included (MAX_NESTING)
        self.nested = 0   # depth of residual/branches bodies (they share the scope)
        self.layout_fixed = False  # an input was declared: too late for `layout`
        self.layout_line = 0

    # ---- bodies ---------------------------------------------------------------------
    def body(self, stmts, top: bool) -> tuple:
        # Checked here too, as blocks used in blocks nest deeper than the text shows.
        if self.depth >= MAX_NESTING and stmts:
            return (self.refused(nested_too_deeply(stmts[0])),)
        self.depth += 1
        try:
            out = []
            for stmt in stmts:
                try:
                    out.append(self.statement(stmt, top))
                except SourceError as err:
                    out.append(self.refused(err))
                    break  # the analysis stops at it: the rest of the body is not needed
            return tuple(out)
        finally:
            self.depth -= 1

    def refused(self, err: SourceError) -> g.Invalid:
        """A refused statement: raised at once when strict, else left in place."""
        if self.strict:
            raise err
        return g.Invalid(err.message, line=err.line or 0, column=err.column or 0)

    def nested_body(self, stmts, top: bool) -> tuple:
        self.nested += 1
        try:
            return self.body(stmts, top)
        finally:
            self.nested -= 1

    def statement(self, node, top: bool):
        return getattr(self, "stmt_" + type(node).__name__.lower())(node, top)

    def stmt_let(self, node: ast.Let, top: bool) -> g.Let:
        return g.Let(node.name, node.value, **_position(node))

    def stmt_from(self, node: ast.From, top: bool) -> g.From:
        return g.From(node.name, **_position(node))

    def stmt_layout(self, node: ast.Layout, top: bool) -> g.Layout:
        if not top or self.layout_fixed:
            raise node_error(node, "layout must come at the start of a model, "
                                   "before its inputs and layers")
        if self.layout_line:
            raise node_error(node, f"the layout is given twice (first at line "
                                   f"{self.layout_line})")
        self.layout_line = node.line
        if node.value not in LAYOUTS:
            hint = closest(node.value, LAYOUTS, 1)
            raise node_error(node, f"unknown layout '{node.value}': use "
                                   f"{' or '.join(LAYOUTS)}"
                                   + (f" (did you mean '{hint[0]}'?)" if hint else ""))
        return g.Layout(node.value, **_position(node))

    def stmt_input(self, node: ast.Input, top: bool) -> g.Input:
        if not top or self.nested:
            raise node_error(node, "input can only be declared in a model's body, "
                                   "not inside a block, repeat, residual or branch")
        self.layout_fixed = True
        return g.Input(node.dims.items, node.name, name_at=node.name_at, **_position(node))

    def stmt_repeat(self, node: ast.Repeat, top: bool) -> g.Repeat:
        used = find_name(node.body, node.var) if node.var is not None else None
        return g.Repeat(node.count, node.var, self.body(node.body, top=False),
                        (used.line, used.column) if used is not None else None,
                        **_position(node))

    def stmt_residual(self, node: ast.Residual, top: bool) -> g.Residual:
        body = self.nested_body(node.body, top)
        shortcut = None if node.shortcut is None else self.nested_body(node.shortcut, top)
        return g.Residual(body, shortcut, self.merge("add", node, ()), **_position(node))

    def stmt_branches(self, node: ast.Branches, top: bool) -> g.Branches:
        bodies = tuple(self.nested_body(body, top) for body in node.branches)
        if len(bodies) < 2:
            raise node_error(node, "branches needs at least two `branch:` bodies")
        return g.Branches(bodies, self.merge(node.merge, node, node.kwargs),
                          **_position(node))

    def merge(self, merge_kind: str, node: ast.Node, kwargs) -> g.Apply:
        """The merge layer a residual or branches statement ends with, at its line."""
        kind = REGISTRY.get(merge_kind)
        if kind is None or kind.inputs != "many":
            merges = sorted(n for n, k in REGISTRY.items() if k.inputs == "many")
            close = closest(merge_kind, merges)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise node_error(node, f"unknown merge '{merge_kind}'{hint}; "
                                   f"use one of {', '.join(merges)}")
        return g.Apply(kind.names[0], merge_kind, self.bind(kind, merge_kind, node, (),
                                                            tuple(kwargs)),
                       **_position(node))

    # ---- layers, blocks, sharing ----------------------------------------------------
    def stmt_layer(self, node: ast.Layer, top: bool):
        if node.kind == REUSE:
            return self.reuse(node)
        ties = [kw for kw in node.kwargs if kw.name == TIE]
        if ties:
            tie = ties[0]
            if not isinstance(tie.value, ast.Name):
                raise node_error(tie.value, "tie takes the name of a layer: `tie = NAME`")
            if node.kind in self.sources:
                raise node_error(tie, "tie works on a layer, not on a block")
            layer = self.layer(node, tuple(k for k in node.kwargs if k is not tie))
            return g.Tie(layer, g.Reference(tie.value.id, **_position(tie.value)),
                         **_position(tie))
        if node.kind in self.sources:
            return self.call(node)
        return self.layer(node)

    def layer(self, node: ast.Layer, kwargs: Optional[tuple] = None) -> g.Apply:
        """A layer application; ``kwargs`` replace the node's (a tie's taken out)."""
        kwargs = node.kwargs if kwargs is None else kwargs
        kind = REGISTRY.get(node.kind)
        if kind is None:
            if node.kind in self.doc.models:
                raise node_error(node, f"'{node.kind}' is a model, not a layer: declare it "
                                       f"with `block {node.kind}(...):` to use it here")
            choices = list(REGISTRY) + list(self.sources) + list(STATEMENTS)
            close = closest(node.kind, choices)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise node_error(node, f"unknown layer '{node.kind}'{hint}")
        merges: tuple = ()
        if kind.inputs == "many":
            for arg in node.args:
                if not isinstance(arg, ast.Name):
                    raise node_error(arg, "expected the name of a tensor here")
            merges = tuple(g.Reference(a.id, **_position(a)) for a in node.args)
            args = self.bind(kind, node.kind, node, (), kwargs)
            if not merges:
                raise node_error(node, f"{node.kind} needs at least one named tensor to "
                                       f"merge with the current one: `{node.kind} NAME, ...`")
        else:
            args = self.bind(kind, node.kind, node, node.args, kwargs)
        return g.Apply(kind.names[0], node.kind, args, merges, node.name,
                       name_at=node.name_at, **_position(node))

    def bind(self, kind: LayerKind, written: str, node: ast.Node, positional,
             keywords) -> tuple[g.Bound, ...]:
        """The arguments given, each bound to its spec (by canonical name)."""
        by_name = {}
        for spec in kind.args:
            by_name[spec.name] = spec
            for alias in spec.aliases:
                by_name[alias] = spec
        bound: dict[str, g.Bound] = {}
        slots = [s for s in kind.args if s.positional]
        if len(positional) > len(slots):
            names = ", ".join(s.name for s in slots) or "none"
            raise node_error(positional[len(slots)],
                             f"{written} takes {len(slots)} positional argument"
                             f"{'s' if len(slots) != 1 else ''} ({names}), "
                             f"got {len(positional)}")
        for spec, expr in zip(slots, positional):
            bound[spec.name] = _bound(spec, expr)
        for kw in keywords:
            spec = by_name.get(kw.name)
            if spec is None:
                close = closest(kw.name, list(by_name))
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                known = ", ".join(s.name for s in kind.args) or "none"
                raise node_error(kw, f"unknown argument '{kw.name}' for {written}{hint}; "
                                     f"its arguments: {known}")
            if spec.name in bound:
                raise node_error(kw, f"argument '{spec.name}' of {written} is given twice")
            bound[spec.name] = _bound(spec, kw.value)
        for spec in kind.args:
            if spec.name not in bound and spec.default is REQUIRED:
                raise node_error(node, f"{written} needs its argument '{spec.name}'"
                                       + (f" ({spec.doc})" if spec.doc else ""))
        return tuple(bound.values())

    def call(self, node: ast.Layer) -> g.Call:
        block = self.sources[node.kind]
        if node.kind in self.stack:
            chain = " -> ".join(self.stack[self.stack.index(node.kind):] + [node.kind])
            raise node_error(node, f"recursion among blocks: {chain}")
        params = {p.name: p for p in block.params}
        order = [p.name for p in block.params]
        if len(node.args) > len(order):
            raise node_error(node.args[len(order)],
                             f"block {node.kind} takes {len(order)} argument"
                             f"{'s' if len(order) != 1 else ''} ({', '.join(order) or 'none'}),"
                             f" got {len(node.args)}")
        given = dict(zip(order, node.args))
        for kw in node.kwargs:
            if kw.name not in params:
                close = closest(kw.name, order)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise node_error(kw, f"unknown argument '{kw.name}' for block "
                                     f"{node.kind}{hint}; its parameters: "
                                     f"{', '.join(order) or 'none'}")
            if kw.name in given:
                raise node_error(kw, f"argument '{kw.name}' of {node.kind} is given twice")
            given[kw.name] = kw.value
        for p in block.params:
            if p.name not in given and p.default is None:
                raise node_error(node, f"block {node.kind} needs its argument '{p.name}'")
        if node.kind not in self.blocks:
            self.stack.append(node.kind)
            try:
                body = self.body(block.body, top=False)
            except SourceError as err:  # the line is in the block: say where it was used
                err.in_block(node.kind, node.line)  # (when strict: else the analysis says)
                raise
            finally:
                self.stack.pop()
            self.blocks[node.kind] = g.Definition("block", block.name, block.params, body,
                                                  **_position(block))
        return g.Call(node.kind, tuple(given.items()), node.name, name_at=node.name_at,
                      **_position(node))

    def reuse(self, node: ast.Layer) -> g.Reuse:
        if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], ast.Name):
            raise node_error(node, "write `reuse NAME` (or `reuse NAME as NEW`) to apply an "
                                   "earlier layer or block instance again, with its weights")
        target = node.args[0]
        return g.Reuse(g.Reference(target.id, **_position(target)), node.name,
                       name_at=node.name_at, **_position(node))


def _bound(spec, expr: ast.Expr) -> g.Bound:
    if spec.tensor and not isinstance(expr, ast.Name):
        raise node_error(expr, f"argument '{spec.name}' takes the name of a tensor")
    return g.Bound(spec.name, expr, expr.id if spec.tensor else "", **_position(expr))


def nested_too_deeply(node) -> SourceError:
    return node_error(node, f"this body is nested too deeply: more than {MAX_NESTING} "
                            f"levels of indented bodies and blocks used in blocks (the "
                            f"limit MAX_NESTING = {MAX_NESTING})")
