"""The one Jinja environment every template runs in (derivations, a user's
``--template``, the layer cards), and the one way to render it.

Jinja's immutable sandbox keeps a template away from Python internals; here it is
closed further and bounded:

- sympy objects expose a few read-only attributes and no methods (their methods read
  text as code); analysis objects expose no callables; classes cannot be called;
- every value a template hands to sympy passes :func:`symparam.exprs.as_expr`, which
  refuses text, lists, dicts and unknown objects;
- rendering is bounded in time (``MAX_TEMPLATE_SECONDS``), in steps (loop iterations,
  calls and operators, ``MAX_TEMPLATE_STEPS``), in nesting of calls
  (``MAX_TEMPLATE_DEPTH``), in the size of any text or list it builds and of its
  output (``MAX_TEMPLATE_OUTPUT``) and in the digits of its numbers (``MAX_DIGITS``).
  Sizes are checked *before* an operation builds its result, so ``'x' * 10**10``
  is refused, not attempted.

Every crossing is a :class:`TemplateError` naming the limit, which
:func:`render` reports with the template's line.
"""
from __future__ import annotations

import contextlib
import contextvars
import inspect
import math
import numbers
import os
import re
import signal
import string
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable, Optional

import jinja2
import sympy
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from ..errors import SymparamError
from ..exprs import NotAFormula, as_expr
from ..limits import (MAX_DIGITS, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_OUTPUT,
                      MAX_TEMPLATE_SECONDS, MAX_TEMPLATE_STEPS, MAX_TEMPLATE_WORK,
                      TEMPLATE_MACRO_STEPS)
from ..stats import LayerStats, ModelStats
from .printers import TexMath

LATEX_DELIMITERS = dict(block_start_string=r"\BLOCK{", block_end_string="}",
                        variable_start_string=r"\VAR{", variable_end_string="}",
                        comment_start_string=r"\#{", comment_end_string="}",
                        line_statement_prefix="%%", line_comment_prefix="%#")
# The only attributes a template may read from a sympy object (its methods would
# turn text into code, and its other attributes lead to them).
EXPR_ATTRS = frozenset({"is_number", "is_Integer", "is_Add", "is_Mul", "is_Symbol", "name"})
# Filters a template does not get: lipsum makes text of any size, and the rest hand
# out Python objects or read files.
_REMOVED_GLOBALS = ("lipsum",)
_MAX_BITS = int(MAX_DIGITS * math.log2(10)) + 1


class TemplateError(SymparamError):
    """A template refused: a limit crossed or a forbidden operation."""


def _limit(what: str) -> TemplateError:
    return TemplateError(f"{what} (MAX_TEMPLATE_OUTPUT = {MAX_TEMPLATE_OUTPUT:,} "
                         f"characters or items)")


# ---- the budget of one rendering ----------------------------------------------------

@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    depth: int = 0
    built: int = 0  # characters and items built so far
    sizes: dict = field(default_factory=dict)  # id -> (object, size): lists are immutable

    def step(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_TEMPLATE_STEPS:
            raise TemplateError(f"the template takes more than {MAX_TEMPLATE_STEPS:,} steps "
                                f"(loop iterations, calls and operations; MAX_TEMPLATE_STEPS)")
        if time.monotonic() > self.deadline:
            raise _too_long()


_BUDGET: contextvars.ContextVar[Optional[_Budget]] = contextvars.ContextVar(
    "symparam_template_budget", default=None)


def _step(steps: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(steps)


def size(value: Any) -> int:
    """How big a value is: characters of text, digits of a whole number, items of a
    list (counting what the items hold). Objects of the analysis count 1."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 1
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        budget = _BUDGET.get()
        cache = budget.sizes if budget is not None else {}
        hit = cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        items = value.items() if isinstance(value, dict) else value
        total = len(value)
        for item in items:
            total += size(item)
            if total > MAX_TEMPLATE_OUTPUT:
                break
        cache[id(value)] = (value, total)
        return total
    return 1


def _check_size(value: Any) -> Any:
    """``value``, refused when too big; what it holds counts towards the work done."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_BITS:
        raise TemplateError(f"a number of more than {MAX_DIGITS:,} digits (MAX_DIGITS)")
    if isinstance(value, sympy.Basic):
        check_formula(value)
    else:
        n = size(value)
        if n > MAX_TEMPLATE_OUTPUT:
            raise _limit("the template builds a text or list larger than the limit")
        budget = _BUDGET.get()
        if budget is not None and n > 1:
            budget.built += n
            if budget.built > MAX_TEMPLATE_WORK:
                raise TemplateError(f"the template builds more than {MAX_TEMPLATE_WORK:,} "
                                    f"characters in all (MAX_TEMPLATE_WORK)")
    return value


def check_formula(expr: sympy.Basic) -> sympy.Basic:
    """A formula a template built, refused when putting numbers in it could take a long
    time: a number past ``MAX_DIGITS`` digits or a power past that exponent."""
    for atom in expr.atoms(sympy.Rational):
        if max(abs(int(atom.p)).bit_length(), int(atom.q).bit_length()) > _MAX_BITS:
            raise TemplateError(f"a number of more than {MAX_DIGITS:,} digits (MAX_DIGITS)")
    for power in expr.atoms(sympy.Pow):
        if any(abs(n) > MAX_DIGITS for n in power.exp.atoms(sympy.Rational)):
            raise TemplateError(f"a power with exponent {power.exp}: a template's exponents "
                                f"hold numbers of at most {MAX_DIGITS:,} (MAX_DIGITS)")
    return expr


def formula(value: Any) -> sympy.Basic:
    """A value a template hands over as a formula: checked (never text) and bounded."""
    return check_formula(as_expr(value))


# ---- operators ---------------------------------------------------------------------

_FORMAT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str) -> None:
    """Widths and precisions of ``'%10s' % x`` within the output limit."""
    for m in _FORMAT_FIELD.finditer(text):
        for part in m.groups():
            if part == "*":
                raise TemplateError("a '*' width in a format is not allowed in a template")
            if part and int(part) > MAX_TEMPLATE_OUTPUT:
                raise _limit(f"a format width of {int(part):,}")


def _longest_text(values, how: str) -> int:
    """The longest text any of ``values`` becomes when formatted (each one is already
    within the limits; each is checked as showable first)."""
    longest = 0
    for value in values:
        _finalize(value, how)
        longest = max(longest, len(value) if isinstance(value, str) else len(str(value)))
    return longest


def _format_values(args) -> list:
    """What ``text % args`` may put in its fields."""
    if isinstance(args, dict):
        return list(args.values())
    if isinstance(args, tuple):
        return list(args)
    return [args]


def _check_percent_result(text: str, args) -> None:
    """``text % args``: what it formats shows only text, numbers and formulas, and the
    result (fields times the longest value, plus widths) stays within the limit."""
    fields = _FORMAT_FIELD.findall(text)
    longest = _longest_text(_format_values(args), "% formatting")
    widths = sum(int(p) for field in fields for p in field if p and p != "*")
    if len(text) + len(fields) * longest + widths > MAX_TEMPLATE_OUTPUT:
        raise _limit("this % formatting exceeds the limit")


def _check_brace_format(text: str, args=(), kwargs=None, env=None) -> None:
    """Widths of ``'{:10}'.format(x)`` within the output limit; what its fields show
    (read through the sandbox, ``env``) only text, numbers and formulas, and the
    result (each field's text, plus widths) within the limit."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format reports it
    total, auto = len(text), 0
    formatter = jinja2.sandbox.SandboxedFormatter(env) if env is not None else None
    for _, name, spec, _ in fields:
        if spec and "{" in spec:
            raise TemplateError("a nested field in a format spec is not allowed in a template")
        for digits in re.findall(r"\d+", spec or ""):
            if int(digits) > MAX_TEMPLATE_OUTPUT:
                raise _limit(f"a format width of {int(digits):,}")
            total += int(digits)
        if name is None or formatter is None:
            continue
        if name == "" or name[0] in ".[":
            name, auto = f"{auto}{name}", auto + 1
        try:
            value, _ = formatter.get_field(name, args, kwargs or {})
        except (LookupError, ValueError, AttributeError, TypeError):
            continue  # str.format reports it
        total += _longest_text([value], "str.format")
        if total > MAX_TEMPLATE_OUTPUT:
            raise _limit("this formatting exceeds the limit")


def _operand(value):
    """The other side of an operation with a formula: a formula too, never text."""
    return value if isinstance(value, sympy.Basic) else as_expr(value)


def _number_like(value) -> bool:
    return isinstance(value, numbers.Rational) or (isinstance(value, sympy.Basic)
                                                   and value.is_number)


# How Python shows what has no text of its own: never part of a derivation.
# Also HTML-escaped (``|e``: ``&lt;``, ``&#39;``) and in any case (``|upper``).
_LT, _GT, _Q = r"(?:<|&lt;|&#60;)", r"(?:>|&gt;|&#62;)", r"(?:'|&#39;|&#x27;|&apos;)"
_PYTHON_REPR = re.compile(rf" at 0x[0-9a-f]{{4,}}{_GT}|{_LT}class {_Q}|{_LT}module {_Q}"
                          rf"|{_LT}(?:built-in|bound) (?:method|function) "
                          rf"|{_LT}(?:LoopContext|Macro|TemplateReference|Undefined)\b",
                          re.IGNORECASE)


def _check_binop(op: str, left, right) -> None:
    """Refuse an operation whose result would be too big, before computing it."""
    if op == "%" and isinstance(left, str):
        _finalize(right)  # '%s' % at: only text, numbers and formulas are formatted
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                if n > 0 and size(seq) * n > MAX_TEMPLATE_OUTPUT:
                    raise _limit(f"repeating a text or list {n:,} times exceeds the limit")
        if isinstance(left, int) and isinstance(right, int) and (
                left.bit_length() + right.bit_length() > _MAX_BITS + 1):
            raise TemplateError(f"a number of more than {MAX_DIGITS:,} digits (MAX_DIGITS)")
    elif op == "+":
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)) \
                and size(left) + size(right) > MAX_TEMPLATE_OUTPUT:
            raise _limit("joining these exceeds the limit")
    elif op == "**":
        if isinstance(left, sympy.Basic) or isinstance(right, sympy.Basic):
            if not _number_like(right):
                raise TemplateError("a template's exponents are numbers")
        if _number_like(right) and not isinstance(right, float):
            exponent = abs(sympy.Rational(right) if not isinstance(right, sympy.Basic)
                           else right)
            base = left
            if _number_like(base) and not isinstance(base, float):
                magnitude = abs(sympy.Rational(base) if not isinstance(base, sympy.Basic)
                                else base)
                if magnitude not in (0, 1):
                    digits = exponent * max(math.log10(max(magnitude, 1 / magnitude)), 0.01)
                    if digits > MAX_DIGITS:
                        raise TemplateError(f"a number of more than {MAX_DIGITS:,} digits "
                                            f"(MAX_DIGITS)")
            elif exponent > MAX_DIGITS:
                raise TemplateError(f"an exponent larger than {MAX_DIGITS:,} (MAX_DIGITS)")
    elif op == "%" and isinstance(left, str):
        _check_percent_format(left)
        _check_percent_result(left, right)


# ---- the code generator: loops and ~ go through the budget --------------------------

ITERATE = "_symparam_iterate"  # the filter every for loop's iterable goes through


class _Generator(CodeGenerator):
    """Jinja's code generator, with every ``for`` loop's iterable passed through the
    filter ``ITERATE`` (a step per item) and ``~`` as ``environment.concat`` (its size
    checked before joining). Jinja allows no new node types: a filter is the hook."""

    def visit_Template(self, node: nodes.Template, frame=None) -> None:
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, ITERATE, [], [], None, None,
                                     lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    def visit_Include(self, node: nodes.Include, frame) -> None:
        """An include is one level of nesting while it renders (a template including
        itself stops at MAX_TEMPLATE_DEPTH, not at Python's recursion limit after a
        thousand renderings of its body)."""
        self.writeline("environment.nest(1)")
        super().visit_Include(node, frame)
        self.writeline("environment.nest(-1)")

    def visit_Extends(self, node: nodes.Extends, frame) -> None:
        """Extending a template is a level too, for the rest of the rendering (the
        parent renders inside the child: a template extending itself stops at
        MAX_TEMPLATE_DEPTH)."""
        self.writeline("environment.nest(1)")
        super().visit_Extends(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


@jinja2.pass_context  # never folded into a constant at compile time
def _iterate(context, iterable):
    """The items of a ``for`` loop, each one step of the budget."""
    for item in iterable:
        _step()
        yield item


# ---- the sandbox ------------------------------------------------------------------

_GROWING_STR_METHODS = {"ljust", "rjust", "center", "zfill", "expandtabs", "replace",
                        "join", "translate"}


def _check_str_method(text: str, name: str, args) -> None:
    if name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        if args[0] > MAX_TEMPLATE_OUTPUT:
            raise _limit(f"a width of {args[0]:,}")
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        if len(text) * max(tab, 1) > MAX_TEMPLATE_OUTPUT:
            raise _limit("expanding these tabs exceeds the limit")
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        times = text.count(old) if old else len(text) + 1
        if len(text) + times * max(len(new) - len(old), 0) > MAX_TEMPLATE_OUTPUT:
            raise _limit("this replacement exceeds the limit")
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        if size(args[0]) + len(text) * len(args[0]) > MAX_TEMPLATE_OUTPUT:
            raise _limit("joining these exceeds the limit")
    elif name == "translate":
        table = args[0] if args else None
        if not isinstance(table, dict):
            raise TemplateError("str.translate takes a dict in a template")
        longest = max((len(v) if isinstance(v, str) else 1 for v in table.values()),
                      default=1)
        if len(text) * longest > MAX_TEMPLATE_OUTPUT:
            raise _limit("this translation exceeds the limit")


def _check_filter(name: str, a: dict) -> None:
    """Refuse a filter call whose result would pass the limits, before it runs
    (``a``: the filter's arguments by name, defaults filled in)."""
    text = str(a.get("value", a.get("s", "")))
    if name in ("center", "indent"):
        width = a.get("width")
        width = len(width) if isinstance(width, str) else width
        lines = text.count("\n") + 1 if name == "indent" else 1
        if isinstance(width, int) and width * lines > MAX_TEMPLATE_OUTPUT:
            raise _limit(f"the filter {name} with width {width:,} exceeds the limit")
    elif name == "wordwrap":
        width = a.get("width") if isinstance(a.get("width"), int) else 79
        wrap = a.get("wrapstring") or "\n"
        if len(text) // max(width, 1) * len(str(wrap)) > MAX_TEMPLATE_OUTPUT:
            raise _limit("the filter wordwrap exceeds the limit")
    elif name == "replace":
        _check_str_method(text, "replace", (a.get("old"), a.get("new")))
    elif name in ("slice", "batch"):
        count = a.get("slices", a.get("linecount"))
        if isinstance(count, int) and count > MAX_TEMPLATE_STEPS:
            raise TemplateError(f"the filter {name} with {count:,} parts takes more than "
                                f"{MAX_TEMPLATE_STEPS:,} steps (MAX_TEMPLATE_STEPS)")
    elif name == "format":
        _check_percent_format(text)
        _check_percent_result(text, a.get("kwargs") or tuple(a.get("args") or ()))
    elif name == "round":
        precision = a.get("precision")
        if isinstance(precision, int) and abs(precision) > MAX_DIGITS:
            raise TemplateError(f"rounding to {precision:,} digits: a template's numbers "
                                f"have at most {MAX_DIGITS:,} digits (MAX_DIGITS)")


_CHECKED_FILTERS = ("center", "indent", "wordwrap", "replace", "slice", "batch", "format",
                    "round", "join")
# Filters that turn their input into text: what they convert must be showable (see
# _finalize), or its Python repr would be printed.
_TEXT_FILTERS = frozenset({
    "string", "e", "escape", "forceescape", "upper", "lower", "capitalize", "title",
    "trim", "center", "indent", "wordwrap", "wordcount", "truncate", "striptags",
    "urlize", "urlencode", "replace", "format", "pprint", "safe", "xmlattr", "join",
    "tex", "md", "md_escape"})
_CONTEXT_ARGS = ("environment", "env", "eval_ctx", "context")


def _join(f: Callable, bound) -> None:
    """``items | join(sep)``: the items (and the separator) showable, the joined size
    (separators included) within the limit, checked before joining."""
    a = bound.arguments
    value, sep, attribute = a.get("value"), a.get("d", ""), a.get("attribute")
    if isinstance(value, str):
        items = list(value)
    else:
        items = []
        for item in value:
            _step()
            items.append(item)
            if len(items) > MAX_TEMPLATE_OUTPUT:
                raise _limit("joining these exceeds the limit")
    if attribute is not None:
        ctx = a.get("eval_ctx") or a.get("environment")
        env = getattr(ctx, "environment", ctx)
        getter = jinja2.filters.make_attrgetter(env, attribute)
        items = [getter(item) for item in items]
        a["attribute"] = None
    _finalize(sep, "the filter join")
    _finalize(items, "the filter join")
    total = sum(len(i) if isinstance(i, str) else len(str(i)) for i in items)
    total += len(str(sep)) * max(len(items) - 1, 0)
    if total > MAX_TEMPLATE_OUTPUT:
        raise _limit("joining these exceeds the limit")
    a["value"] = items


def _checked_filter(name: str, f: Callable) -> Callable:
    """A Jinja filter that refuses arguments or results past the size limits."""
    text_filter = name in _TEXT_FILTERS
    try:
        signature = (inspect.signature(f) if name in _CHECKED_FILTERS or text_filter
                     else None)
    except (TypeError, ValueError):
        signature = None
    value_name = None
    if signature is not None:
        value_name = next((p for p in signature.parameters if p not in _CONTEXT_ARGS),
                          None)
    # A filter Jinja wraps for async use is passed a context its signature omits.
    skip = int(getattr(f, "jinja_pass_arg", None) is not None and signature is not None
               and next(iter(signature.parameters)) not in ("environment", "env",
                                                             "eval_ctx", "context"))

    @wraps(f)
    def run(*args, **kwargs):
        _step()
        if signature is not None:
            try:
                bound = signature.bind(*args[skip:], **kwargs)
            except TypeError:
                pass  # the filter itself says what is wrong
            else:
                bound.apply_defaults()
                if text_filter and value_name is not None and name != "join":
                    _finalize(bound.arguments.get(value_name), f"the filter {name}")
                _check_filter(name, bound.arguments)
                if name == "join":
                    _join(f, bound)
                    return _check_size(f(*args[:skip], *bound.args, **bound.kwargs))
        return _check_size(f(*args, **kwargs))
    return run


# What a template calls of its own: a macro (``caller`` too) or a recursive loop.
_MACROS = (jinja2.runtime.Macro, jinja2.runtime.LoopContext)
_SHOWABLE = (str, numbers.Number, sympy.Basic, type(None))


def _finalize(value, how: Optional[str] = None):
    """What ``{{ ... }}`` may print: text, numbers, formulas, and lists or mappings of
    them. A function, a class, a generator or one of symparam's own objects has no text
    meant for a reader (its repr would show Python's internals): a clear error instead.
    ``how``: the conversion to text (a filter, ``~``, formatting) that is checked, when
    it is not ``{{ ... }}`` itself."""
    todo, seen = [value], 0
    while todo:
        item = todo.pop()
        seen += 1
        if seen > MAX_TEMPLATE_OUTPUT:
            break  # the size checks bound what a template can build; never loop past it
        if isinstance(item, _SHOWABLE) or isinstance(item, jinja2.Undefined):
            continue
        if isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        else:
            what = ("a function" if callable(item) and not isinstance(item, type)
                    and type(item).__module__ != "jinja2.runtime"
                    else "a class" if isinstance(item, type)
                    else f"an object of type {type(item).__name__}")
            if how is not None:
                raise TemplateError(f"refused: the output would show Python's internals: {how} "
                                    f"makes text of text, numbers and formulas only, not "
                                    f"{what} (call a function, or take a field of an object)")
            raise TemplateError(f"{{{{ ... }}}} shows text, numbers and formulas, not {what} "
                                f"(call a function, or take a field of an object)")
    return value


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, closed further and bounded (see the module's
    docstring)."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options):
        options.setdefault("finalize", _finalize)
        super().__init__(**options)
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.filters = {name: _checked_filter(name, f) for name, f in self.filters.items()}
        self.filters[ITERATE] = _iterate

    # -- what a template may touch
    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, sympy.Basic) or (isinstance(obj, type) and
                                            issubclass(obj, sympy.Basic)):
            return attr in EXPR_ATTRS
        if attr in ("document", "costing"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj, attribute):
        if isinstance(obj, sympy.Basic) and attribute not in EXPR_ATTRS:
            return self.unsafe_undefined(obj, attribute)  # not even computed
        return super().getattr(obj, attribute)

    def is_safe_callable(self, obj):
        if isinstance(obj, type):
            return False
        owner = getattr(obj, "__self__", None)
        if owner is not None and not isinstance(owner, TexMath) and (
                isinstance(owner, (sympy.Basic, ModelStats, LayerStats))
                or type(owner).__module__.split(".")[0] in ("symparam", "sympy")):
            return False
        if type(obj).__module__.split(".")[0] == "sympy":
            return False
        return super().is_safe_callable(obj)

    def wrap_str_format(self, value):
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        text = value.__self__
        mapping = value.__name__ == "format_map"

        @wraps(wrapper)
        def checked(*args, **kwargs):
            if mapping and len(args) == 1 and isinstance(args[0], dict):
                _check_brace_format(text, (), args[0], self)
            else:
                _check_brace_format(text, args, kwargs, self)
            return _check_size(wrapper(*args, **kwargs))
        return checked

    # -- what a template does, bounded
    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's names)
        if not __self.is_safe_callable(__obj):
            what = getattr(__obj, "__qualname__", type(__obj).__name__)
            raise jinja2.exceptions.SecurityError(f"calling {what} is not allowed")
        _step(TEMPLATE_MACRO_STEPS if isinstance(__obj, _MACROS) else 1)
        for value in (*args, *kwargs.values()):
            if isinstance(value, Namespace):
                raise jinja2.exceptions.SecurityError(
                    "a namespace can only be read by the template, not passed to a function")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _GROWING_STR_METHODS:
            _check_str_method(owner, __obj.__name__, args)
        budget = _BUDGET.get()
        if budget is not None:
            budget.depth += 1
            if budget.depth > MAX_TEMPLATE_DEPTH:
                raise TemplateError(f"the template recurses too deeply (more than "
                                    f"{MAX_TEMPLATE_DEPTH} nested calls; MAX_TEMPLATE_DEPTH)")
        try:
            return _check_size(super().call(__context, __obj, *args, **kwargs))
        finally:
            if budget is not None:
                budget.depth -= 1

    @staticmethod
    def nest(levels: int) -> None:
        """Enter (1) or leave (-1) an included template."""
        budget = _BUDGET.get()
        if budget is None:
            return
        _step()
        budget.depth += levels
        if budget.depth > MAX_TEMPLATE_DEPTH:
            raise TemplateError(f"the template recurses too deeply (more than "
                                f"{MAX_TEMPLATE_DEPTH} nested calls, includes and extends; "
                                f"MAX_TEMPLATE_DEPTH)")

    def call_binop(self, context, operator_, left, right):
        _step()
        if isinstance(left, sympy.Basic) or isinstance(right, sympy.Basic):
            left, right = _operand(left), _operand(right)
        _check_binop(operator_, left, right)
        return _check_size(self.binop_table[operator_](left, right))

    @staticmethod
    def concat(items) -> str:
        """``a ~ b``: the parts' total size checked before they are joined."""
        parts = [item if isinstance(item, str) else str(_check_size(_finalize(item, "~")))
                 for item in items]
        if sum(len(p) for p in parts) > MAX_TEMPLATE_OUTPUT:
            raise _limit("joining these with ~ exceeds the limit")
        return "".join(parts)


class FolderLoader(jinja2.FileSystemLoader):
    """A user's template and what it includes, imports or extends: files in its folder
    (Jinja refuses ``..``), none hidden (``.ssh/id_rsa``, ``.env``), none reached
    through a symbolic link (of the file or of a folder on the way: its real path must
    lie inside the real path of the folder) and none larger than the output limit."""

    def get_source(self, environment, template):
        pieces = jinja2.loaders.split_template_path(template)
        if any(piece.startswith(".") for piece in pieces):
            raise jinja2.exceptions.SecurityError(f"a template may not read the hidden "
                                                  f"file {template!r}")
        for folder in self.searchpath:
            path = os.path.join(folder, *pieces)
            if not os.path.lexists(path):
                continue
            self._check_path(folder, pieces, template)
            if os.path.isfile(path) and os.path.getsize(path) > MAX_TEMPLATE_OUTPUT:
                raise _limit(f"the template {template!r} is larger than the limit")
        return super().get_source(environment, template)

    @staticmethod
    def _check_path(folder: str, pieces: list, template: str) -> None:
        """Refuse a template that is, or lies in a folder that is, a symbolic link, or
        whose real path is outside the real path of the template's folder."""
        path = folder
        for i, piece in enumerate(pieces):
            path = os.path.join(path, piece)
            if os.path.islink(path):
                what = "file" if i == len(pieces) - 1 else "folder"
                raise jinja2.exceptions.SecurityError(
                    f"the template {template!r} is reached through a symbolic link (the "
                    f"{what} {piece!r}): a template reads only files in its own folder, "
                    f"never through a symbolic link")
        root = os.path.realpath(folder)
        real = os.path.realpath(os.path.join(folder, *pieces))
        if os.path.commonpath([root, real]) != root:
            raise jinja2.exceptions.SecurityError(
                f"the template {template!r} lies outside the template's folder (its real "
                f"path is not inside {root}): a template reads only files in its own "
                f"folder")


def environment(latex: bool, loader: jinja2.BaseLoader, filters: dict) -> Sandbox:
    """A sandbox with symparam's options: strict undefined variables, LaTeX-friendly
    delimiters (``\\VAR{}``, ``\\BLOCK{}``) when ``latex``, and ``filters`` added."""
    options = dict(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    if latex:
        options.update(LATEX_DELIMITERS)
    env = Sandbox(**options)
    env.filters.update({name: _checked_filter(name, f) for name, f in filters.items()})
    return env


# ---- rendering ---------------------------------------------------------------------

def load(env: Sandbox, name: str, where: str) -> jinja2.Template:
    """A template by name; a syntax error names its line."""
    try:
        return env.get_template(name)
    except jinja2.exceptions.TemplateNotFound:
        raise SymparamError(f"no such template: {where}") from None
    except jinja2.exceptions.SecurityError as err:
        raise SymparamError(f"template {where}: refused: {err}") from None
    except jinja2.exceptions.TemplateSyntaxError as err:
        raise SymparamError(f"template {where}, line {err.lineno}: {err.message}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SymparamError(f"cannot read template {where}: {err}") from None
    except (ValueError, RecursionError, MemoryError) as err:  # a constant too big to compile
        raise SymparamError(f"template {where}: cannot compile it: {_reason(err)}") from None


def _too_long() -> TemplateError:
    return TemplateError(f"the template ran longer than {MAX_TEMPLATE_SECONDS} s "
                         f"(MAX_TEMPLATE_SECONDS)")


@contextlib.contextmanager
def _alarm(seconds: float):
    """A backstop for the time limit: a loop inside a function the template calls
    never reaches the budget's checks, so a timer interrupts it (in the main thread,
    where Python delivers signals; elsewhere the budget's checks alone apply)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise _too_long()
    old = signal.signal(signal.SIGALRM, expired)
    previous, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if previous:  # someone else's timer: give it back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(previous - (time.monotonic() - start),
                                                     0.001))


def render(template: jinja2.Template, ctx: dict, where: str) -> str:
    """Render within the limits; any failure is one clear error with the line."""
    budget = _Budget(time.monotonic() + MAX_TEMPLATE_SECONDS)
    token = _BUDGET.set(budget)
    out: list[str] = []
    length = 0
    try:
        with _alarm(MAX_TEMPLATE_SECONDS + 1):
            for chunk in template.generate(**ctx):
                length += len(chunk)
                if length > MAX_TEMPLATE_OUTPUT:
                    raise TemplateError(f"the output is larger than {MAX_TEMPLATE_OUTPUT:,} "
                                        f"characters (MAX_TEMPLATE_OUTPUT)")
                out.append(chunk)
        leak = _PYTHON_REPR.search("".join(out))
        if leak:  # a backstop: _finalize and the filters' checks should have refused it
            raise TemplateError(f"the output would show Python's internals "
                                f"({leak.group(0).strip()!r}...): a template shows text, "
                                f"numbers and formulas")
    except jinja2.exceptions.SecurityError as err:
        raise SymparamError(f"{where}{_line(template)}: refused: {err} (templates run in "
                            f"a sandbox without access to Python internals)") from None
    except NotAFormula as err:
        raise SymparamError(f"{where}{_line(template)}: refused: {err.message}") from None
    except SymparamError as err:
        raise SymparamError(f"{where}{_line(template)}: {err.message}") from None
    except jinja2.exceptions.UndefinedError as err:
        raise SymparamError(f"{where}{_line(template)}: {err.message}") from None
    except jinja2.exceptions.TemplateNotFound as err:
        raise SymparamError(f"{where}{_line(template)}: no such template {err.name!r} (a "
                            f"template reads only files in its own folder)") from None
    except jinja2.exceptions.TemplateError as err:
        raise SymparamError(f"{where}{_line(template)}: {err}") from None
    except Exception as err:  # noqa: BLE001 - a user's template: never a traceback
        raise SymparamError(f"{where}{_line(template)}: {_reason(err)}") from None
    finally:
        _BUDGET.reset(token)
    return "".join(out)


def _reason(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "the template recurses too deeply"
    if isinstance(err, MemoryError):
        return "the template needs more memory than there is"
    return f"{type(err).__name__}: {err}"


def _line(template: jinja2.Template) -> str:
    """``, line N``: where in the template the error happened (Jinja rewrites the
    traceback so that its frames name the template's lines)."""
    tb = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == (template.filename or "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", line {line}" if line else ""
