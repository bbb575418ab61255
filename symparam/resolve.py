"""Syntax tree to resolved graph (:mod:`symparam.graph`): what does not depend on a
convention or on the symbols' values.

It chooses the model, finds each statement's layer kind or block, binds arguments to
the kind's specs (positional slots, keywords and their aliases, required ones) and a
block call's arguments to the block's parameters, and checks where statements stand
(an input in a model's body only, ``layout`` first and once), that blocks do not call
themselves, and that nothing nests past MAX_NESTING. Each problem is one
:class:`SourceError` at its line. ``strict=False`` (what ``analyze`` asks for) leaves a
refused statement in the graph as a :class:`graph.Invalid`, which the walk reports when
it gets there: of two problems, the one the walk meets first is reported, whether the
resolver or the walk can see it.

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

from dataclasses import replace
from typing import Optional, Sequence

from . import ast
from . import graph as g
from .errors import SourceError, SymparamError, UsageError
from .layers.base import REGISTRY, REQUIRED, LayerKind, closest
from .layers.moe import MIX_ARGS, MOE_STATEMENT, ROUTER_ARGS
from .limits import MAX_NESTING
from .values import find_name, node_error

LAYOUTS = ("channels_last", "channels_first")
# Statement keywords, offered beside layer names when a layer is unknown (`inptu`).
STATEMENTS = ("input", "let", "from", "layout", "repeat", "residual", "branches", "moe")
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
                if isinstance(out[-1], g.Invalid):
                    break  # the analysis stops at it: the rest of the body is not needed
            return tuple(out)
        finally:
            self.depth -= 1

    def refused(self, err: SourceError, statement: Optional[ast.Node] = None,
                needs_input: str = "") -> g.Invalid:
        """A refused statement: raised at once when strict, else left in place (with
        what the walk did before it met the problem: see graph.Invalid)."""
        if self.strict:
            raise err
        at = (statement.line, statement.column) if statement is not None else (0, 0)
        return g.Invalid(err.message, needs_input, at,
                         getattr(err, "first", ()) if needs_input else (),
                         line=err.line or 0, column=err.column or 0)

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

    def stmt_moe(self, node: ast.Moe, top: bool) -> g.Moe:
        """``moe E, top_k = k, ...:``: its arguments bound to the statement's specs and
        given to the router and the mix (see layers/moe.py), its bodies resolved."""
        bound = {b.name: b for b in self.bind(MOE_STATEMENT, "moe", node, node.args,
                                               node.kwargs)}
        if "experts" not in bound or "top_k" not in bound:  # (when strict, bind raised)
            spec = next(s for s in MOE_STATEMENT.args if s.name not in bound)
            raise node_error(node, missing_argument("moe", spec))

        def step(kind: str, names: dict) -> g.Apply:
            args = tuple(replace(bound[mine], name=theirs) for mine, theirs in names.items()
                         if mine in bound)
            return g.Apply(kind, "moe", args, **_position(node))

        body = self.nested_body(node.body, top)
        shared_body = None if node.shared is None else self.nested_body(node.shared, top)
        shared = bound["shared"].expr if "shared" in bound else None
        return g.Moe(bound["experts"].expr, bound["top_k"].expr, shared, body, shared_body,
                     step("router", ROUTER_ARGS), step("expert_mix", MIX_ARGS),
                     **_position(node))

    def stmt_residual(self, node: ast.Residual, top: bool) -> g.Residual:
        body = self.nested_body(node.body, top)
        shortcut = None if node.shortcut is None else self.nested_body(node.shortcut, top)
        return g.Residual(body, shortcut, self.merge("add", node, ()), **_position(node))

    def stmt_branches(self, node: ast.Branches, top: bool) -> g.Branches:
        bodies = tuple(self.nested_body(body, top) for body in node.branches)
        try:  # refused after the bodies, which the walk meets first
            if len(bodies) < 2:
                raise node_error(node, "branches needs at least two `branch:` bodies")
            merge = self.merge(node.merge, node, node.kwargs)
        except SourceError as err:
            merge = self.refused(err)
        return g.Branches(bodies, merge, **_position(node))

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
            try:  # refused after the tie's target is found, which the walk does first
                layer = self.layer(node, tuple(k for k in node.kwargs if k is not tie))
            except SourceError as err:
                layer = self.refused(err)
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
        try:
            return self.application(kind, node, kwargs)
        except SourceError as err:  # the walk checks the input first
            return self.refused(err, node, f"layer '{node.kind}'")

    def application(self, kind: LayerKind, node: ast.Layer, kwargs: tuple) -> g.Apply:
        merges: list = []
        if kind.inputs == "many":
            for arg in node.args:
                if not isinstance(arg, ast.Name):
                    raise _after(node_error(arg, "expected the name of a tensor here"),
                                 merges)
                merges.append(g.Reference(arg.id, **_position(arg)))
            args = self.bind(kind, node.kind, node, (), kwargs, merges)
            if not merges:
                raise _after(node_error(node, f"{node.kind} needs at least one named tensor "
                                              f"to merge with the current one: "
                                              f"`{node.kind} NAME, ...`"), args)
        else:
            args = self.bind(kind, node.kind, node, node.args, kwargs)
        return g.Apply(kind.names[0], node.kind, args, tuple(merges), node.name,
                       name_at=node.name_at, **_position(node))

    def bind(self, kind: LayerKind, written: str, node: ast.Node, positional,
             keywords, before: Sequence = ()) -> tuple[g.Bound, ...]:
        """The arguments given, each bound to its spec (by canonical name). An error
        carries what the walk evaluates before it (``before``, then the arguments
        bound so far); a missing required argument is the walk's to report when not
        strict (after it has converted the arguments before it)."""
        by_name = {}
        for spec in kind.args:
            by_name[spec.name] = spec
            for alias in spec.aliases:
                by_name[alias] = spec
        bound: dict[str, g.Bound] = {}
        slots = [s for s in kind.args if s.positional]
        if len(positional) > len(slots):
            names = ", ".join(s.name for s in slots) or "none"
            raise _after(node_error(positional[len(slots)],
                                    f"{written} takes {len(slots)} positional argument"
                                    f"{'s' if len(slots) != 1 else ''} ({names}), "
                                    f"got {len(positional)}"), before)
        for spec, expr in zip(slots, positional):
            bound[spec.name] = _bound(spec, expr, [*before, *bound.values()])
        for kw in keywords:
            spec = by_name.get(kw.name)
            so_far = [*before, *bound.values()]
            if spec is None:
                close = closest(kw.name, list(by_name))
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                known = ", ".join(s.name for s in kind.args) or "none"
                raise _after(node_error(kw, f"unknown argument '{kw.name}' for {written}"
                                            f"{hint}; its arguments: {known}"), so_far)
            if spec.name in bound:
                raise _after(node_error(kw, f"argument '{spec.name}' of {written} is given "
                                            f"twice"), so_far)
            bound[spec.name] = _bound(spec, kw.value, so_far, (kw.line, kw.column))
        for spec in kind.args:
            if self.strict and spec.name not in bound and spec.default is REQUIRED:
                raise node_error(node, missing_argument(written, spec))
        return tuple(bound.values())

    def call(self, node: ast.Layer) -> g.Call:
        block = self.sources[node.kind]
        if node.kind in self.stack:
            chain = " -> ".join(self.stack[self.stack.index(node.kind):] + [node.kind])
            raise node_error(node, f"recursion among blocks: {chain}")
        try:
            return self.block_call(block, node)
        except SourceError as err:  # the walk checks the input first
            return self.refused(err, node, f"block '{node.kind}'")

    def block_call(self, block: ast.Definition, node: ast.Layer) -> g.Call:
        params = {p.name: p for p in block.params}
        order = [p.name for p in block.params]
        if len(node.args) > len(order):
            raise node_error(node.args[len(order)],
                             f"block {node.kind} takes {len(order)} argument"
                             f"{'s' if len(order) != 1 else ''} ({', '.join(order) or 'none'}),"
                             f" got {len(node.args)}")
        given = {name: g.Bound(name, expr, **_position(expr))
                 for name, expr in zip(order, node.args)}
        for kw in node.kwargs:
            if kw.name not in params:
                close = closest(kw.name, order)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise _after(node_error(kw, f"unknown argument '{kw.name}' for block "
                                            f"{node.kind}{hint}; its parameters: "
                                            f"{', '.join(order) or 'none'}"), given.values())
            if kw.name in given:
                raise _after(node_error(kw, f"argument '{kw.name}' of {node.kind} is given "
                                            f"twice"), given.values())
            given[kw.name] = g.Bound(kw.name, kw.value, **_position(kw.value))
        for p in block.params:
            if self.strict and p.name not in given and p.default is None:
                raise node_error(node, missing_parameter(node.kind, p.name))
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
        return g.Call(node.kind, tuple(given.values()), node.name, name_at=node.name_at,
                      **_position(node))

    def reuse(self, node: ast.Layer) -> g.Reuse:
        if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], ast.Name):
            raise node_error(node, "write `reuse NAME` (or `reuse NAME as NEW`) to apply an "
                                   "earlier layer or block instance again, with its weights")
        target = node.args[0]
        return g.Reuse(g.Reference(target.id, **_position(target)), node.name,
                       name_at=node.name_at, **_position(node))


def _bound(spec, expr: ast.Expr, so_far: Sequence,
           written_at: Optional[tuple[int, int]] = None) -> g.Bound:
    if spec.tensor and not isinstance(expr, ast.Name):
        raise _after(node_error(expr, f"argument '{spec.name}' takes the name of a tensor"),
                     so_far)
    return g.Bound(spec.name, expr, expr.id if spec.tensor else "", **_position(expr),
                   written_at=written_at or (expr.line, expr.column))


def _after(err: SourceError, first) -> SourceError:
    """``err``, to be reported after the walk evaluates ``first`` (arguments and
    tensors given before the refused one)."""
    err.first = tuple(first)
    return err


def missing_argument(written: str, spec) -> str:
    return f"{written} needs its argument '{spec.name}'" + (f" ({spec.doc})" if spec.doc
                                                              else "")


def missing_parameter(block: str, name: str) -> str:
    return f"block {block} needs its argument '{name}'"


def nested_too_deeply(node) -> SourceError:
    return node_error(node, f"this body is nested too deeply: more than {MAX_NESTING} "
                            f"levels of indented bodies and blocks used in blocks (the "
                            f"limit MAX_NESTING = {MAX_NESTING})")
