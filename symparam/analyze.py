"""Resolved graph to analyzed model: walk the graph (:mod:`symparam.graph`) under one
convention, with the symbols' values, threading shapes through the layers and
collecting their weights.

:mod:`symparam.resolve` has found the layer kinds, blocks and arguments; here the
expressions are evaluated, the arguments converted, the layers applied, the names given,
the tensors found and the repeats rolled up or unrolled. Everything here raises
:class:`SourceError` with the offending line; nothing prints.
"""
from __future__ import annotations

import dataclasses
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import sympy

from . import ast, conventions
from . import graph as g
from .checks import check
from .exprs import as_expr
from .errors import SourceError, SymparamError, UsageError
from .layers import base as lb
from .layers.base import (REGISTRY, ArgError, Args, Context, closest, fmt_shape,
                          message_text)
from .layers.merge import never_equal, same_dim
from .limits import MAX_LAYERS, MAX_NESTING, MAX_UNROLL
from .parser import parse, parse_file
from .reach import mark_unreached
from .resolve import (choose, missing_argument, missing_parameter, nested_too_deeply,
                      resolve)
from .sharing import SharingMixin
from .stats import Costing, LayerStats, LazyText, ModelStats, at
from .tidy import tidy
from .values import Env, Word, evaluate, node_error, symbol, undefined



@dataclass
class Tensor:
    shape: tuple
    producer: str


class Scope:
    """Names visible at a point of a body: values (env) and tensors, plus where the
    data flows now (``current``), how many times this body stands (multiplier) and how
    many times it runs for each position (``active``: fewer inside a mixture of
    experts' body, which stands E times and runs k times)."""

    def __init__(self, env: Env, tensors: dict, current: Optional[Tensor],
                 multiplier=sympy.Integer(1), path: tuple = (), prefix: str = "",
                 parent_tensors: Optional["Scope"] = None, suffix: str = "",
                 active=None):
        self.env = env
        self.active = multiplier if active is None else active
        self.suffix = suffix  # added to `as` names in the 2nd, 3rd... unrolled repeat
        self.tensors = tensors
        self.current = current
        self.multiplier = multiplier
        self.path = path
        self.prefix = prefix
        self.parent_tensors = parent_tensors

    def find_tensor(self, name: str) -> Optional[Tensor]:
        scope = self
        while scope is not None:
            if name in scope.tensors:
                return scope.tensors[name]
            scope = scope.parent_tensors
        return None

    def tensor_names(self) -> list[str]:
        out, scope = [], self
        while scope is not None:
            out.extend(scope.tensors)
            scope = scope.parent_tensors
        return out


def _problem(err: ArgError, value, env: Env) -> str:
    """An argument's problem; an undefined word gets the closest defined names."""
    if isinstance(value, Word) and str(err).startswith("undefined symbol"):
        return undefined(value, env).message
    return str(err)


def _name_error(node: g.Node, message: str) -> SourceError:
    """An error about the name after `as`: it points at that name when known."""
    line, column = getattr(node, "name_at", (0, 0))
    return SourceError(message, line, column) if line else node_error(node, message)


class _Analyzer(SharingMixin):
    def __init__(self, graph: g.Graph, convention: str, layout: str):
        self.graph = graph
        self.model = graph.model
        self.ctx = Context(conventions.get(convention), layout)
        self.depth = 0        # bodies being run, blocks' bodies included (MAX_NESTING)
        self.statement: Optional[g.Node] = None  # the statement being analyzed
        self.layers: list[LayerStats] = []
        self.counters: dict[str, int] = {}
        self.names_used: dict[str, int] = {}
        self.tensor_args: list[Tensor] = []
        self.applied: dict = {}          # layer name -> (kind, args), for `reuse`
        self.block_instances: dict = {}  # block instance -> (block, its arguments)
        self.applications: dict = {}     # see application(): results by their inputs

    # ---- state snapshots, for a repeat that must be redone unrolled ------------------
    def snapshot(self):
        """Everything a body adds to the analysis, to undo a repeat that was tried
        rolled up and must be redone unrolled (the layers, names, checks, and what
        `reuse` can refer to)."""
        return (len(self.layers), dict(self.counters), dict(self.names_used),
                len(self.ctx.checks), dict(self.applied), dict(self.block_instances))

    def restore(self, snap) -> None:
        n, counters, names, checks, applied, instances = snap
        del self.layers[n:]
        self.counters = counters
        self.names_used = names
        del self.ctx.checks[checks:]
        self.applied = applied
        self.block_instances = instances

    # ---- names ----------------------------------------------------------------------
    def auto_name(self, base: str) -> str:
        while True:
            k = self.counters.get(base, 0)
            self.counters[base] = k + 1
            name = base if k == 0 else f"{base}_{k}"
            if name not in self.names_used:
                return name

    def claim_name(self, name: str, node: g.Node) -> None:
        if name in self.names_used:
            raise _name_error(node, f"duplicate name '{name}' (already used at line "
                                    f"{self.names_used[name]})")
        self.names_used[name] = node.line

    def bind_tensor(self, scope: Scope, name: str, tensor: Tensor, node: g.Node) -> None:
        if name in scope.tensors:
            raise _name_error(node, f"duplicate name '{name}': a tensor of that name exists")
        scope.tensors[name] = tensor

    # ---- bodies ---------------------------------------------------------------------
    def run_body(self, steps, scope: Scope) -> None:
        # The resolver checked the nesting of each body where it was first used; a
        # block used again deeper is checked here.
        if self.depth >= MAX_NESTING and steps:
            raise nested_too_deeply(steps[0])
        self.depth += 1
        try:
            for step in steps:
                self.statement = step  # for the last-resort message on a RecursionError
                self.run_step(step, scope)
        finally:
            self.depth -= 1

    def run_step(self, step: g.Step, scope: Scope) -> None:
        getattr(self, "step_" + type(step).__name__.lower())(step, scope)

    def step_invalid(self, node: g.Invalid, scope: Scope) -> None:
        """A statement the resolver refused: reported after what the walk would have
        done before meeting its problem (see graph.Invalid)."""
        if node.needs_input:
            line, column = node.statement
            self.need_input(g.Reference("", line=line, column=column), scope,
                            node.needs_input)
        self.tensor_args = []
        for given in node.first:
            if isinstance(given, g.Reference):
                self.tensor(given.name, given, scope)
            else:
                self.arg_value(given, scope.env, scope)
        raise SourceError(node.message, node.line or None, node.column or None)

    def step_let(self, node: g.Let, scope: Scope) -> None:
        self.check_new_name(node.name, node, scope, "let")
        value = evaluate(node.value, scope.env)
        if isinstance(value, Word):
            raise undefined(value, scope.env)
        scope.env.define(node.name, value, node.line)

    def check_new_name(self, name: str, node: g.Node, scope: Scope, what: str) -> None:
        """A let or a repeat index may not hide a name already visible (a symbol, a
        block parameter, another let): the same name would mean two things."""
        where = scope.env.defined_at(name)
        if where:
            raise node_error(node, f"duplicate name '{name}' (already defined {where}; a "
                                   f"{what} cannot redefine it)")

    def step_layout(self, node: g.Layout, scope: Scope) -> None:
        self.ctx.layout = node.value  # where and how often: checked by the resolver

    def step_input(self, node: g.Input, scope: Scope) -> None:
        dims = []
        for item in node.dims:
            try:
                value = evaluate(item, scope.env)
                dims.append(lb.size(value))
            except ArgError as err:
                raise node_error(item, f"input dimension: {_problem(err, value, scope.env)}"
                                 ) from None
        shape = tuple(dims)
        name = node.name or self.auto_name("input_layer")
        self.claim_name(name, node)
        tensor = Tensor(shape, name)
        self.bind_tensor(scope, name, tensor, node)
        self.count_layer(node)
        self.layers.append(LayerStats(name, "input", "InputLayer", node.line, node.column,
                                      (), shape, (), scope.multiplier, scope.path,
                                      active_multiplier=scope.active))
        scope.current = tensor

    def step_from(self, node: g.From, scope: Scope) -> None:
        scope.current = self.tensor(node.name, node, scope)

    def tensor(self, name: str, node: g.Node, scope: Scope) -> Tensor:
        found = scope.find_tensor(name)
        if found is None:
            close = closest(name, scope.tensor_names())
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            known = ", ".join(scope.tensor_names()) or "none yet"
            raise node_error(node, f"unknown tensor '{name}'{hint}; named tensors here: {known}")
        return found

    def need_input(self, node: g.Node, scope: Scope, what: str) -> Tensor:
        if scope.current is None:
            raise node_error(node, f"{what} has no input: declare one first with "
                                   f"`input [...]`")
        return scope.current

    # ---- layers ---------------------------------------------------------------------
    def step_apply(self, node: g.Apply, scope: Scope) -> None:
        kind = REGISTRY[node.kind]
        x = self.need_input(node, scope, f"layer '{node.written}'")
        if kind.inputs == "many":
            tensors = [x] + [self.tensor(t.name, t, scope) for t in node.merges]
            self.apply(kind, node, self.bind(kind, node, scope), tensors, scope)
        else:
            self.tensor_args = []
            args = self.bind(kind, node, scope)
            self.apply(kind, node, args, [x], scope, extra=self.tensor_args)

    def arg_value(self, arg: g.Bound, env: Env, scope: Scope):
        if not arg.tensor:
            return evaluate(arg.expr, env)
        tensor = self.tensor(arg.tensor, arg, scope)
        self.tensor_args.append(tensor)
        return tensor.shape

    def bind(self, kind: lb.LayerKind, node: g.Apply, scope: Scope,
             supplied: Optional[dict] = None) -> Args:
        """The arguments' values, converted by their specs; the defaults of the others.
        (Which spec each argument fills, the resolver has found; ``supplied``: values
        the walk gives, a moe's tensors to its mix.)"""
        # Evaluated in the order given, then converted in the kind's order.
        raw = {arg.name: (self.arg_value(arg, scope.env, scope), arg) for arg in node.args}
        raw.update({name: (value, node) for name, value in (supplied or {}).items()})
        values = {}
        for spec in kind.args:
            if spec.name in raw:
                value, where = raw[spec.name]
                try:
                    values[spec.name] = spec.convert(value, self.ctx)
                except ArgError as err:
                    raise node_error(where, f"{node.written} argument '{spec.name}': "
                                            f"{_problem(err, value, scope.env)}") from None
            elif spec.default is lb.REQUIRED:
                raise node_error(node, missing_argument(node.written, spec))
            elif spec.default is None:
                values[spec.name] = None
            else:
                default = spec.default
                if isinstance(default, int) and not isinstance(default, bool):
                    default = sympy.Integer(default)
                values[spec.name] = spec.convert(default, self.ctx)
        return Args(values, set(raw))

    def apply(self, kind: lb.LayerKind, node, args: Args, inputs: list[Tensor],
              scope: Scope, extra: tuple = (), label: str = "") -> Tensor:
        """Apply ``kind`` at ``node`` (an application, or a `reuse`, whose messages
        name the kind by ``label``)."""
        label = label or node.written
        shapes = [t.shape for t in inputs]
        for shape in shapes:
            if len(shape) < kind.min_rank:
                raise node_error(node, f"{label} needs an input of at least "
                                       f"{kind.min_rank} dimension(s) besides the batch, got "
                                       f"{fmt_shape(shape)}")
        self.count_layer(node)
        applied, type_name, costing = self.application(kind, node, label, args, shapes)
        name = self.layer_name(node, applied.auto_name or self.ctx.convention.auto_name(
            kind.names[0], kind.auto_name), scope)
        self.layers.append(LayerStats(
            name, kind.names[0], type_name, node.line, node.column,
            tuple(shapes), tuple(applied.output), tuple(applied.weights), scope.multiplier,
            scope.path, dict(args._values), tuple(t.producer for t in [*inputs, *extra]),
            costing, active_multiplier=scope.active))
        self.applied[name] = (kind, args)
        tensor = Tensor(tuple(applied.output), name)
        if node.name:
            self.bind_tensor(scope, node.name, tensor, node)
        scope.current = tensor
        return tensor

    def count_layer(self, node: g.Node) -> None:
        """Refuse the layer application past MAX_LAYERS, at its line."""
        if len(self.layers) >= MAX_LAYERS:
            raise node_error(node, f"model {self.model.name} has more layers than the limit "
                                   f"MAX_LAYERS = {MAX_LAYERS:,} (counted with blocks "
                                   f"expanded and unrolled repeats copied): this is layer "
                                   f"{MAX_LAYERS + 1:,}")

    def application(self, kind: lb.LayerKind, node: g.Node, label: str, args: Args,
                    shapes: list) -> tuple[lb.Applied, str, Costing]:
        """The kind applied to these arguments and input shapes: its result, class name
        and cost. Computed once per distinct (kind, arguments, shapes, convention,
        layout): a layer's result depends on nothing else, and 10,000 equal layers are
        one sympy computation. The deferred checks it made are repeated at each layer."""
        try:
            # Types too: 1, 1.0 and True are equal keys in Python, not equal arguments.
            key = (kind.names[0], tuple((k, type(v), v) for k, v in args._values.items()),
                   frozenset(args.given), tuple(shapes), self.ctx.convention, self.ctx.layout)
            hash(key)
        except TypeError:  # an argument that is not hashable: computed every time
            key = None
        self.ctx.where = at(node)  # where later checks of this layer (a tie's) are made
        self.ctx.statement = node
        done = self.applications.get(key) if key is not None else None
        if done is not None:
            applied, type_name, costing, checks = done
            self.ctx.checks.extend((cond, message, at(node)) for cond, message in checks)
            return applied, type_name, costing
        first = len(self.ctx.checks)
        lb.refuse_foreign(kind, args, self.ctx, shapes[0])  # what the convention lacks
        try:
            if kind.inputs == "many":
                applied = kind.apply_many(args, shapes, self.ctx)
            else:
                applied = kind.apply(args, shapes[0], self.ctx)
        except ArgError as err:
            raise node_error(node, f"{label}: {err}") from None
        applied = dataclasses.replace(applied, output=tuple(tidy(d) for d in applied.output))
        self.check_dims(node, label, applied)
        type_name = applied.type_name or kind.type_name(self.ctx, shapes[0])
        # The cost is computed when first asked, then shared by the equal layers.
        costing = Costing(kind.names[0], tuple(args._values.items()), frozenset(args.given),
                          tuple(shapes), tuple(applied.output), self.ctx.convention.name,
                          self.ctx.layout)
        if key is not None:
            checks = tuple((cond, message) for cond, message, _ in self.ctx.checks[first:])
            self.applications[key] = (applied, type_name, costing, checks)
        return applied, type_name, costing

    def layer_name(self, node: g.Node, auto: str, scope: Scope) -> str:
        given = getattr(node, "name", None)
        if given:
            name = scope.prefix + given + scope.suffix
            self.claim_name(name, node)
            return name
        name = self.auto_name(auto)
        self.names_used[name] = node.line
        return name

    def check_dims(self, node: g.Node, label: str, applied: lb.Applied) -> None:
        """Numbers known now must already be valid sizes (a kernel larger than its
        input shows up here); symbolic ones are checked when values are given."""
        seen = set()  # a stacked RNN repeats its shapes: check each one once
        for where, dims in [("output", applied.output)] + [
                (f"weight '{w.name}'", w.shape) for w in applied.weights]:
            for d in dims:
                d = as_expr(d)
                if d in seen:
                    continue
                seen.add(d)
                if d.is_number and (not d.is_integer or d < 1):
                    raise node_error(node, f"{label}: {where} dimension would be {d}, "
                                           f"not a positive whole number "
                                           f"(shape {fmt_shape(dims)})")

    # ---- blocks ---------------------------------------------------------------------
    def step_call(self, node: g.Call, scope: Scope) -> None:
        block = self.graph.blocks[node.block]
        x = self.need_input(node, scope, f"block '{node.block}'")
        given = {arg.name: evaluate(arg.expr, scope.env) for arg in node.args}
        env = Env({})
        for p in block.params:
            if p.name in given:
                env.define(p.name, given[p.name], p.line)
            elif p.default is not None:
                env.define(p.name, evaluate(p.default, env), p.line)
            else:
                raise node_error(node, missing_parameter(node.block, p.name))
        if node.name:  # scoped like a layer's `as` name: per enclosing instance and copy
            local = node.name + scope.suffix
            instance = scope.prefix + local
            self.claim_name(instance, node)
        else:
            local = instance = self.auto_name(node.block)
        self.block_instances[instance] = (block, dict(env.names))
        inner = Scope(env, {}, x, scope.multiplier, scope.path + (local,),
                      prefix=f"{instance}/", active=scope.active)
        try:
            self.run_body(block.body, inner)
        except SourceError as err:  # the line is in the block: say where it was used
            err.in_block(node.block, node.line)
            raise
        out = inner.current
        if node.name:
            self.bind_tensor(scope, node.name, out, node)
        scope.current = out

    # ---- structure ------------------------------------------------------------------
    def merge(self, node: g.Apply, tensors: list[Tensor], scope: Scope,
              context: str = "") -> None:
        """Merge tensors with a merge layer. ``context`` says which statement merges
        them, for the checks that can only fail once values are given."""
        kind = REGISTRY[node.kind]
        args = self.bind(kind, node, scope)
        before = len(self.ctx.checks)
        self.apply(kind, node, args, tensors, scope)
        if context:
            self.ctx.checks[before:] = [
                (cond, lambda m=message: f"{context}: {message_text(m)}", where)
                for cond, message, where in self.ctx.checks[before:]]

    def step_residual(self, node: g.Residual, scope: Scope) -> None:
        x = self.need_input(node, scope, "residual")
        scope.current = x
        self.run_body(node.body, scope)
        y = scope.current
        if node.shortcut is not None:
            scope.current = x
            self.run_body(node.shortcut, scope)
            z = scope.current
        else:
            z = x
        scope.current = y
        other = "its shortcut" if node.shortcut is not None else "its input, as it has no shortcut"
        try:
            self.merge(node.merge, [y, z], scope,
                       context=f"residual (the body's output is added to {other})")
        except SourceError as err:  # say which statement adds the two
            raise node_error(node, f"residual: the body's output is added to {other}, "
                                   f"but {err.message}") from None

    def step_branches(self, node: g.Branches, scope: Scope) -> None:
        x = self.need_input(node, scope, "branches")
        outs = []
        for body in node.branches:
            scope.current = x
            self.run_body(body, scope)
            outs.append(scope.current)
        scope.current = outs[0]
        if isinstance(node.merge, g.Invalid):  # refused: reported after the branches
            self.step_invalid(node.merge, scope)
        self.merge(node.merge, outs, scope,
                   context=f"branches {node.merge.written} (the outputs of its {len(outs)} "
                           f"branches)")

    def step_repeat(self, node: g.Repeat, scope: Scope) -> None:
        try:
            count = evaluate(node.count, scope.env)
            count = lb.size(count)
        except ArgError as err:
            raise node_error(node.count, f"repeat count: {_problem(err, count, scope.env)}"
                             ) from None
        x = self.need_input(node, scope, "repeat")
        if node.var is not None:
            self.check_new_name(node.var, node, scope, "repeat index")
        if node.index_at is None:
            snap = self.snapshot()
            inner = self.repeat_scope(scope, count, f"repeat {count}")
            self.run_body(node.body, inner)
            y = inner.current
            kept = len(y.shape) == len(x.shape) and all(
                same_dim(a, b) is not False for a, b in zip(x.shape, y.shape))
            if not kept and not count.is_number and len(y.shape) == len(x.shape):
                # A body that keeps the shape for some values only (dense 12 on d
                # features): checked when they are given (a number of times unrolls).
                kept = not any(never_equal(a, b) for a, b in zip(x.shape, y.shape))
            if kept:
                self.ctx.where = at(node)
                for a, b in zip(x.shape, y.shape):
                    self.ctx.require(sympy.Eq(a, b), lambda a=a, b=b:
                                     f"repeat {count}: the repeated body must keep the shape "
                                     f"{fmt_shape(x.shape)}, but gives {fmt_shape(y.shape)}: "
                                     f"{a} vs {b}")
                scope.current = y
                return
            if not count.is_number:
                raise node_error(node, f"a repeat over the symbol {count} must keep the shape,"
                                       f" but its body turns {fmt_shape(x.shape)} into "
                                       f"{fmt_shape(y.shape)} (repeat a number of times to "
                                       f"unroll it instead)")
            self.restore(snap)
        elif not count.is_number:
            line, column = node.index_at
            raise SourceError(f"the index '{node.var}' of a repeat over the symbol {count} "
                              f"cannot be used in its body: the repeats would differ, so "
                              f"they cannot be counted without unrolling",
                              line or None, column or None)
        if count > MAX_UNROLL:
            raise node_error(node, f"this repeat would unroll {count} times, more than the "
                                   f"limit MAX_UNROLL = {MAX_UNROLL:,}: its body changes the "
                                   f"shape or uses its index")
        for i in range(int(count)):
            inner = self.repeat_scope(scope, 1, f"repeat[{i}]",
                                      suffix=f"_{i}" if i else "")
            if node.var is not None:
                inner.env.define(node.var, sympy.Integer(i))
            self.run_body(node.body, inner)
            scope.current = inner.current

    def step_moe(self, node: g.Moe, scope: Scope) -> None:
        """A mixture of experts: the router on the input; the expert body, standing
        E times and run k times per position (so its weights count E times in the
        total, k times in the active parameters and costs); the shared experts, s
        times in both; then the mix, whose inputs are the experts' output, the
        router's scores and the shared experts' output."""
        x = self.need_input(node, scope, "moe")
        experts = self.moe_count(node.experts, scope, "the number of experts")
        top_k = self.moe_count(node.top_k, scope, "top_k")
        shared = (None if node.shared is None
                  else self.moe_count(node.shared, scope, "shared"))
        router = self.apply(REGISTRY["router"], node.router,
                            self.bind(REGISTRY["router"], node.router, scope), [x], scope,
                            label="moe's router")
        outputs = []
        bodies = [(node.body, experts, top_k, f"experts {experts} (top_k {top_k})",
                   "the experts' body")]
        shared_body = node.body if node.shared_body is None else node.shared_body
        copies = shared if shared is not None else (1 if node.shared_body is not None else 0)
        if copies != 0:
            bodies.append((shared_body, copies, copies, f"shared experts {copies}",
                           "the shared experts' body"))
        for body, times, active, label, what in bodies:
            inner = self.repeat_scope(scope, times, label, active=active)
            if outputs and body is node.body:  # the expert's layers again, named apart
                inner.prefix += "shared_experts/"
            inner.current = x
            self.run_body(body, inner)
            y = inner.current
            if len(y.shape) != len(x.shape) or any(never_equal(a, b)
                                                   for a, b in zip(x.shape, y.shape)):
                raise node_error(node, f"moe: {what} must keep the shape "
                                       f"{fmt_shape(x.shape)}, but gives {fmt_shape(y.shape)}")
            self.ctx.where = at(node)
            for a, b in zip(x.shape, y.shape):
                self.ctx.require(sympy.Eq(a, b), lambda a=a, b=b, y=y, what=what:
                                 f"moe: {what} must keep the shape "
                                 f"{fmt_shape(x.shape)}, but gives {fmt_shape(y.shape)}: "
                                 f"{a} vs {b}")
            outputs.append(y)
        mix = REGISTRY["expert_mix"]
        tensors = {"router": router.shape, "shared": outputs[1].shape if outputs[1:] else None}
        args = self.bind(mix, node.mix, scope, tensors)
        scope.current = outputs[0]
        before = len(self.ctx.checks)
        self.apply(mix, node.mix, args, [outputs[0]], scope, extra=[router, *outputs[1:]],
                   label="moe")
        self.ctx.checks[before:] = [(cond, lambda m=message: f"moe: {message_text(m)}", where)
                                    for cond, message, where in self.ctx.checks[before:]]

    def moe_count(self, expr, scope: Scope, what: str):
        """A count of the moe statement (E, top_k, shared): a whole number, 0 allowed
        for the shared experts only."""
        value = evaluate(expr, scope.env)
        try:
            return lb.nonneg(value) if what == "shared" else lb.size(value)
        except ArgError as err:
            raise node_error(expr, f"moe: {what}: {_problem(err, value, scope.env)}") from None

    def repeat_scope(self, scope: Scope, times, label: str, suffix: str = "",
                     active=None) -> Scope:
        """The scope of a body standing ``times`` times in ``scope`` (and running
        ``active`` times per position: ``times`` unless said)."""
        return Scope(scope.env.child(), {}, scope.current, scope.multiplier * times,
                     scope.path + (label,), prefix=scope.prefix, parent_tensors=scope,
                     suffix=scope.suffix + suffix,
                     active=scope.active * (times if active is None else active))


def _model_env(model: g.Definition, values: Mapping[str, int], symbolic: bool):
    """Symbols of the model, their defaults, and the values in effect."""
    env = Env({})
    symbols, defaults, in_effect = [], {}, {}
    seen = set()
    for p in model.params:
        if p.name in seen:
            raise node_error(p, f"duplicate symbol '{p.name}' in model {model.name}")
        seen.add(p.name)
        sym = symbol(p.name)
        symbols.append(sym)
        default = None
        if p.default is not None:
            default = evaluate(p.default, env)
            if isinstance(default, Word):
                raise undefined(default, env)
            try:
                default = lb.size(default)
            except ArgError as err:
                raise node_error(p.default, f"default of symbol '{p.name}': {err}") from None
        defaults[p.name] = default
        env.define(p.name, sym, p.line)
    # Values in effect: given ones first, then defaults (which may use other symbols).
    by_name = {s.name: s for s in symbols}
    for name, value in values.items():
        if name not in by_name:
            close = closest(name, list(by_name)) if isinstance(name, str) else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"model {model.name} has no symbol '{name}'{hint}; its symbols: "
                             f"{', '.join(by_name) or 'none'}")
        in_effect[by_name[name]] = _given_value(name, value)
    if not symbolic:
        # Defaults may refer to each other: settle them in rounds, until a round
        # settles nothing more (usually one or two: not one per symbol).
        pending = [s for s in symbols if s not in in_effect and defaults[s.name] is not None]
        while pending:
            waiting = []
            for sym in pending:
                v = defaults[sym.name].xreplace(in_effect)
                if v.is_number:
                    in_effect[sym] = v
                else:
                    waiting.append(sym)
            if len(waiting) == len(pending):
                break
            pending = waiting
    return env, tuple(symbols), defaults, in_effect


def _given_value(name: str, value) -> sympy.Integer:
    """A value given for a symbol: a positive whole number, as an integer or its digits.
    (Never ``sympify`` a string here: it would evaluate arbitrary Python.)"""
    v = None
    if isinstance(value, str) and len(value) > 1000:
        raise UsageError(f"symbol {name}: a value of {len(value):,} characters is too long")
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        v = sympy.Integer(int(value))
    elif hasattr(value, "__index__") and not isinstance(value, bool):  # int, numpy ints
        v = sympy.Integer(operator.index(value))
    if v is None or v < 1:
        raise UsageError(f"symbol {name} must be a positive whole number, got {value!r}")
    return v


def _resolve_doc(source) -> ast.Document | g.Graph:
    if isinstance(source, (ast.Document, g.Graph)):
        return source
    if isinstance(source, Path):
        return parse_file(source)
    if isinstance(source, str) and "\n" not in source and source.endswith(".symp"):
        return parse_file(source)
    if not isinstance(source, str):
        raise UsageError(f"analyze() takes source text, a path or a parsed document, "
                         f"not {type(source).__name__}")
    return parse(source)


def analyze(source, model: Optional[str] = None, convention: Optional[str] = None,
            values: Optional[Mapping[str, int]] = None, symbolic: bool = False) -> ModelStats:
    """Analyze one model of a document (a parsed Document, source text, a path, or the
    resolved graph of a model, as ``stats.document`` holds it).

    ``convention`` overrides the file's (keras by default); ``values`` sets symbols;
    ``symbolic=True`` ignores the defaults.

    >>> s = analyze("model mlp(n = 4096, h = 512):\\n    input [n]\\n    dense h\\n")
    >>> s.value(s.total)
    2097664
    >>> analyze(s.document, convention="torch").convention
    'torch'
    """
    doc = _resolve_doc(source)
    if values is not None and not isinstance(values, Mapping):
        raise UsageError(f"values must map symbol names to numbers, got {values!r}")
    try:
        if isinstance(doc, ast.Document):
            # The file's definitions, the model asked for and the convention are
            # checked before the model's body.
            choose(doc, model)
            conv = doc.convention
            _convention((conv.value, conv.line, conv.column) if conv else None, convention)
            graph = resolve(doc, model, strict=False)  # its errors in the walk's order
        elif model is not None and model != doc.name:
            raise UsageError(f"no model '{model}' in this graph: it is model {doc.name}")
        else:
            graph = doc
        return _analyze(graph, convention, dict(values or {}), symbolic)
    except SourceError as err:
        raise err.with_source(doc.source, doc.filename) from None
    except RecursionError:
        raise SymparamError("the model is nested too deeply to analyze") from None


def _convention(written: Optional[tuple], convention) -> str:
    """The name of the convention asked for (a name or a registered Convention), else
    the file's (``written``: its convention line's value, line and column, or None:
    keras)."""
    if isinstance(convention, conventions.Convention) and conventions.known(convention):
        convention = convention.name  # ModelStats.convention is the name
    if convention is None:
        if written is None:
            return "keras"
        value, line, column = written
        if not conventions.known(value):
            raise SourceError(conventions.unknown_message(value), line or None,
                              column or None)
        return value
    if not conventions.known(convention):
        raise UsageError(conventions.unknown_message(convention))
    return convention


def _analyze(graph: g.Graph, convention, values, symbolic) -> ModelStats:
    convention = _convention(graph.convention, convention)
    model_def = graph.model
    env, symbols, defaults, in_effect = _model_env(model_def, values, symbolic)
    # The layout says how the file writes its shapes, so it follows the convention the
    # file is written in (or its `layout` line), not the one the counts are made in:
    # `--convention torch` on a Keras-style file keeps its [H, W, C] inputs.
    written = graph.written
    layout = conventions.get(written).layout if conventions.known(written) else "channels_last"
    analyzer = _Analyzer(graph, convention, layout)
    scope = Scope(env, {}, None)
    try:
        analyzer.run_body(model_def.body, scope)
    except RecursionError:  # the limits above should make this unreachable
        raise node_error(analyzer.statement or model_def,
                         "the model is nested too deeply to analyze") from None
    if not any(layer.kind == "input" for layer in analyzer.layers):
        raise node_error(model_def, f"model {model_def.name} has no input: add "
                                    f"`input [...]` to its body")
    output = scope.current.producer
    layers, unreached = mark_unreached(analyzer.layers, output, convention)
    # Messages written when first needed, as data that pickles as its text.
    checks = tuple((cond, message if isinstance(message, str) else LazyText(message), where)
                   for cond, message, where in analyzer.ctx.checks)
    stats = ModelStats(model_def.name, convention, analyzer.ctx.layout, symbols, defaults,
                       in_effect, layers, checks,
                       {p.name: p.latex for p in model_def.params if p.latex}, graph,
                       output=output, unreached=unreached)
    check(stats, graph.source, graph.filename)
    return stats
