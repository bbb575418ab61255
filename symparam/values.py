"""Values of the language and their evaluation to sympy.

An expression evaluates to one of: a sympy expression (numbers and symbols), a
:class:`Word` (a bare word such as ``same`` or ``relu``), a bool, a string, or a tuple
of values (a list). Layer arguments are then checked and converted by the
converters at the bottom of this module.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sympy

from . import ast
from .errors import SourceError, SymparamError
from .exprs import as_expr
from .limits import MAX_DIGITS, MAX_EXPONENT


def symbol(name: str) -> sympy.Symbol:
    """A model symbol: a positive integer, as sizes are."""
    return sympy.Symbol(name, integer=True, positive=True)


@dataclass(frozen=True)
class Word:
    """A bare word that is not a defined name: ``same``, ``relu``, ``channels_first``."""

    text: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return self.text


_FUNCS: dict[str, tuple[int, Callable]] = {
    "floor": (1, sympy.floor),
    "ceil": (1, sympy.ceiling),
    "min": (-1, sympy.Min),
    "max": (-1, sympy.Max),
    "abs": (1, sympy.Abs),
    "sqrt": (1, sympy.sqrt),
}
_CONSTANTS = {"true": True, "false": False}


def node_error(node: Any, message: str) -> SourceError:
    """A SourceError at a node's line and column (a syntax node, a graph node: anything
    with ``line`` and ``column``)."""
    return SourceError(message, line=node.line or None, column=node.column or None)


def cut(text: str, keep: int = 40) -> str:
    """``text``, or its first ``keep`` characters and how long it is, for a message that
    quotes what the user wrote (errors.window shows a line of the source instead).

    >>> cut("x" * 50)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (50 characters)'
    """
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text):,} characters)"


def describe(value: Any) -> str:
    """How a value reads in an error message."""
    if isinstance(value, Word):
        return f"the word '{value.text}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'the string "{cut(value, 60)}"'
    if isinstance(value, tuple):
        shown = ", ".join(describe_short(v) for v in value[:10])
        return "[" + shown + (f", ... ({len(value):,} items)" if len(value) > 10 else "") + "]"
    return f"'{show(value)}'"


def describe_short(value: Any) -> str:
    if isinstance(value, (Word, sympy.Basic)):
        return show(value)
    return describe(value)


class Env:
    """Names visible to an expression: a chain of dicts, innermost first."""

    def __init__(self, names: Mapping[str, Any], parent: "Env | None" = None):
        self.names = dict(names)
        self.parent = parent
        self.lines: dict[str, int] = {}  # where each name was defined, for messages
        # Reads a tensor's size (``in.channels``): set by the analyzer for the scope
        # this Env belongs to, as a function of (the TensorSize node, its index value).
        self.sizes: Callable | None = None

    def tensor_size(self, node: "ast.TensorSize", index: Any) -> Any:
        """``in.channels`` and the like: asked of the innermost scope that can tell."""
        env: Env | None = self
        while env is not None:
            if env.sizes is not None:
                return env.sizes(node, index)
            env = env.parent
        raise node_error(node, f"{node.tensor}.{node.attr}: there is no tensor here to "
                               f"read a size from (a tensor's size can be read in a "
                               f"model's or block's body, and in a block's arguments)")

    def child(self, names: Mapping[str, Any] | None = None) -> "Env":
        return Env(names or {}, self)

    def lookup(self, name: str):
        env = self
        while env is not None:
            if name in env.names:
                return True, env.names[name]
            env = env.parent
        return False, None

    def all_names(self) -> list[str]:
        out, env = [], self
        while env is not None:
            out.extend(env.names)
            env = env.parent
        return out

    def define(self, name: str, value: Any, line: int = 0) -> None:
        self.names[name] = value
        self.lines[name] = line

    def defined_at(self, name: str) -> str:
        """'' if ``name`` is not visible here, else a phrase saying where it was defined."""
        env = self
        while env is not None:
            if name in env.names:
                line = env.lines.get(name)
                return f"at line {line}" if line else "earlier"
            env = env.parent
        return ""


def undefined(node: ast.Name | Word, env: Env | None) -> SourceError:
    name = node.id if isinstance(node, ast.Name) else node.text
    close = difflib.get_close_matches(name, env.all_names() if env else [], n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return SourceError(f"undefined symbol '{name}'{hint}", line=node.line or None,
                       column=node.column or None)


def _number(value: Any, node: ast.Node, env: Env) -> sympy.Expr:
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, Word):
        raise undefined(value, env)
    raise node_error(node, f"expected a number, got {describe(value)}")


def evaluate(node: ast.Expr, env: Env) -> Any:
    """Evaluate an expression node to a value (see the module docstring)."""
    if isinstance(node, ast.Num):
        text = node.text
        digits = sum(c.isdigit() for c in text)
        if digits > MAX_DIGITS:  # Python refuses to convert past 4,300 digits anyway
            raise node_error(node, f"this number has {digits:,} digits; at most "
                                   f"{MAX_DIGITS:,} are allowed")
        if any(c in text for c in ".eE"):
            exponent = text.lower().partition("e")[2]
            if exponent and abs(int(exponent)) > MAX_DIGITS:
                raise node_error(node, f"the number {text} is too large")
            return sympy.Rational(text)
        return sympy.Integer(int(text))
    if isinstance(node, ast.Name):
        found, value = env.lookup(node.id)
        if found:
            return value
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return Word(node.id, node.line, node.column)
    if isinstance(node, ast.Str):
        return node.value
    if isinstance(node, ast.ListExpr):
        return tuple(evaluate(item, env) for item in node.items)
    if isinstance(node, ast.TensorSize):
        index = None if node.index is None else evaluate(node.index, env)
        return env.tensor_size(node, index)
    if isinstance(node, ast.Neg):
        return -_number(evaluate(node.operand, env), node.operand, env)
    if isinstance(node, ast.Chain):
        return _chain(node, env)
    if isinstance(node, ast.BinOp):  # a power
        a = _number(evaluate(node.left, env), node.left, env)
        b = _number(evaluate(node.right, env), node.right, env)
        _check_power(a, b, node)
        return _finite(a ** b, node)
    if isinstance(node, ast.Call):
        if node.func not in _FUNCS:
            close = difflib.get_close_matches(node.func, list(_FUNCS), n=2)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise node_error(node, f"unknown function '{node.func}'{hint}; "
                                   f"known: {', '.join(sorted(_FUNCS))}")
        arity, fn = _FUNCS[node.func]
        args = [_number(evaluate(a, env), a, env) for a in node.args]
        if (arity >= 0 and len(args) != arity) or (arity < 0 and not args):
            want = f"{arity} argument" + ("s" if arity != 1 else "") if arity >= 0 else "arguments"
            raise node_error(node, f"{node.func}() takes {want}, got {len(args)}")
        try:
            return _finite(fn(*args), node)
        except (TypeError, ValueError) as err:  # Min/Max of values that do not compare
            raise node_error(node, f"{node.func}(): {err}") from None
    raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover


_PRODUCTS: dict[str, Callable] = {
    "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "//": lambda a, b: sympy.floor(a / b), "%": sympy.Mod,
}


def _chain(node: ast.Chain, env: Env):
    """A chain of one level's operators, in one loop: a sum is added at once (sympy
    adds 10,000 terms one by one in quadratic time); products are applied left to
    right, a number that grows past MAX_DIGITS refused as soon as it does."""
    value = _number(evaluate(node.first, env), node.first, env)
    if node.rest[0][0] in "+-":
        terms = [value]
        for op, term in node.rest:
            b = _number(evaluate(term, env), term, env)
            terms.append(b if op == "+" else -b)
        return _finite(sympy.Add(*terms), node)
    for op, term in node.rest:
        b = _number(evaluate(term, env), term, env)
        if op != "*" and b == 0:
            raise node_error(term, "division by zero")
        value = _PRODUCTS[op](value, b)
        if value.is_Rational:
            _finite(value, node)
    return _finite(value, node)
_INFINITE = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


def _finite(value, node: ast.Node):
    """Refuse infinities and NaN (``0 ** -1``), which no size can be, and numbers or
    powers past the limits (``10**999 * 10**999``, ``(d ** 1000) ** 1000``)."""
    if isinstance(value, sympy.Basic) and value.has(*_INFINITE):
        raise node_error(node, f"this is not a finite number (it gives {show(value)}): "
                               f"a division by zero?")
    if isinstance(value, sympy.Basic):
        for atom in value.atoms(sympy.Rational, sympy.Pow):
            if isinstance(atom, sympy.Pow):
                e = atom.exp
                if e.is_Number and abs(e) > MAX_EXPONENT:
                    raise node_error(node, f"this gives a power of degree {show(e)}, more "
                                           f"than the limit MAX_EXPONENT = {MAX_EXPONENT}")
            elif digits(atom) > MAX_DIGITS:
                raise node_error(node, f"this gives a number of about {digits(atom):,} "
                                       f"digits, more than the limit MAX_DIGITS = "
                                       f"{MAX_DIGITS:,}")
    return value


def _log10(r: sympy.Rational) -> float:
    """log10 of the larger of a fraction's numerator and denominator (0 for 0)."""
    return math.log10(max(abs(int(r.p)), int(r.q), 1))


def expr_digits(expr) -> float:
    """About how many digits the largest number in ``expr`` has (0 if none)."""
    return max((_log10(n) + 1 for n in expr.atoms(sympy.Rational)), default=0.0)


def text_digits(number: str) -> int:
    """About how many digits the number written ``number`` has, read off the text before
    it is built, never less (``7e9``: 10, ``1.5e3``: 5, ``10**5``: 10, the base's digits
    times the exponent; leading zeros and the sign of an exponent aside); past
    MAX_DIGITS, MAX_DIGITS + 1 (an exponent of 8 or more digits is not converted: Python
    refuses an integer text past 4,300 digits).

    >>> text_digits("7e9"), text_digits("10**5"), text_digits("0.5"), text_digits("1e" + "9" * 5000)
    (10, 10, 1, 1001)
    """
    base, power, exponent = number.partition("**")
    if power:
        return len(base.lstrip("0")) * int(exponent) if exponent.isdigit() and \
            len(exponent) < 8 else MAX_DIGITS + 1
    mantissa, _, exponent = number.lower().partition("e")
    exponent = exponent.lstrip("+-")
    if exponent and not (exponent.isdigit() and len(exponent) < 8):
        return MAX_DIGITS + 1
    return sum(c.isdigit() for c in mantissa.lstrip("0.")) + int(exponent or 0)


def digits(number) -> int:
    """How many decimal digits a whole number or a fraction has (the larger of its
    numerator and denominator), without printing it (Python refuses past 4,300)."""
    r = sympy.Rational(number)
    return max(_int_digits(int(r.p)), _int_digits(int(r.q)))


def _int_digits(n: int) -> int:
    n = abs(n)
    # 2**(b - 1) <= n < 2**b: the count is k + 1 or k + 2, with k = floor((b - 1) log10 2).
    k = int((max(n.bit_length(), 1) - 1) * 0.30102999566398120)
    if k > 100_000:  # far past every limit: the estimate will do
        return k + 1
    return k + 1 + (n >= 10 ** (k + 1))


def show(value, width: int = 200) -> str:
    """``str(value)`` that never fails and stays short: Python refuses to print an
    integer of more than 4,300 digits, and an error message must not crash."""
    if isinstance(value, sympy.Rational) and digits(value) > 60:
        return f"<a number of about {digits(value):,} digits>"
    if isinstance(value, int) and not isinstance(value, bool) and \
            value.bit_length() > 200:
        return f"<a number of about {digits(value):,} digits>"
    if isinstance(value, sympy.Basic) and any(digits(a) > 60 for a in
                                              value.atoms(sympy.Rational)):
        big = max(digits(a) for a in value.atoms(sympy.Rational))
        return f"<an expression holding a number of about {big:,} digits>"
    try:
        text = str(value)
    except ValueError:  # pragma: no cover - caught above; kept as the last guard
        return "<too large to print>"
    return text if len(text) <= width else text[:width - 3] + "..."


class TooLarge(SymparamError):
    """A value that would have more than MAX_DIGITS digits (raised before it is built).
    The analyzer names the layer; elsewhere (a cost at given values) the message says
    what the limit is."""

    def __init__(self, size: int):
        super().__init__(f"a number here would have about {size:,} digits, more than "
                         f"the limit MAX_DIGITS = {MAX_DIGITS:,}")
        self.digits = size


def at_values(expr, values: Mapping, memo: dict | None = None) -> Any:
    """``expr.xreplace(values)``, but refusing (:class:`TooLarge`) any number of more
    than MAX_DIGITS digits *before* computing it: a power or a product of big values
    is estimated from its factors' digits first, so ``d ** 1000`` at a 999-digit ``d``
    is refused at once instead of computed and then found unprintable.

    >>> d = symbol("d")
    >>> at_values(d ** 2 + 1, {d: sympy.Integer(3)})
    10

    ``memo`` (results by subexpression) may be shared between calls with the same values.
    """
    memo = {} if memo is None else memo

    def walk(e):
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            out = values.get(e, e)
        elif e.is_Atom or not e.args:
            out = e
            if isinstance(e, sympy.Rational) and digits(e) > MAX_DIGITS:
                raise TooLarge(digits(e))
        else:
            args = [walk(a) for a in e.args]
            if all(a is b for a, b in zip(args, e.args)):  # untouched: kept as written
                memo[e] = e
                return e
            numbers = [a for a in args if isinstance(a, sympy.Rational)]
            if isinstance(e, sympy.Pow) and len(numbers) == 2 and args[0] != 0:
                size = float(abs(args[1])) * _log10(args[0])
                if size > MAX_DIGITS:
                    raise TooLarge(int(size) + 1)
            elif isinstance(e, sympy.Mul) and len(numbers) > 1:
                size = sum(_log10(a) for a in numbers)
                if size > 2 * MAX_DIGITS:  # a fraction times a big number may still fit
                    raise TooLarge(int(size) + 1)
            out = e.func(*args)
            if isinstance(out, sympy.Rational) and digits(out) > MAX_DIGITS:
                raise TooLarge(digits(out))
        memo[e] = out
        return out
    return walk(as_expr(expr))


def _check_power(base, exponent, node: ast.Node) -> None:
    """A number exponent is bounded here; a symbol's (``2**k``, even ``d ** d ** 100``)
    is left to the values: :func:`at_values` estimates a power's digits from its base
    and exponent before computing it, so a count at given values never builds (nor
    prints) a number past MAX_DIGITS."""
    if not exponent.is_number:
        return
    if abs(exponent).is_extended_real and abs(exponent) > MAX_EXPONENT:
        raise node_error(node.right, f"the exponent {show(exponent)} is too large (the "
                                     f"limit MAX_EXPONENT = {MAX_EXPONENT})")
    size = sympy.S.Zero
    if base.is_number and base != 0:
        size = abs(exponent * sympy.log(abs(base), 10))
    if size.is_extended_real and size > MAX_DIGITS:
        raise node_error(node, f"{show(base)} ** {show(exponent)} is too large a number "
                               f"(more than the limit MAX_DIGITS = {MAX_DIGITS:,} digits)")


def find_name(node: Any, name: str) -> "ast.Name | None":
    """The first use of ``name`` in this AST node or tuple of nodes, or None."""
    if isinstance(node, ast.Name):
        return node if node.id == name else None
    children = node if isinstance(node, tuple) else (
        [getattr(node, f) for f in node.__dataclass_fields__ if f not in ("line", "column")]
        if isinstance(node, ast.Node) else ())
    for child in children:
        found = find_name(child, name)
        if found is not None:
            return found
    return None


def uses_name(node: Any, name: str) -> bool:
    """Does ``name`` appear anywhere in this AST node or tuple of nodes?"""
    return find_name(node, name) is not None


_RELATIONS: dict[str, Callable] = {"==": sympy.Eq, "!=": sympy.Ne, "<": sympy.Lt,
                                   "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}


def condition(node: "ast.Condition", env: Env) -> Any:
    """The value of an ``if`` condition: True or False, or a sympy condition on the
    model's symbols (which the analyzer decides by their values). Numbers compare as
    numbers; words, strings and true/false compare with ``==`` and ``!=`` only
    (``act == relu``). ``and``/``or`` stop at the first operand that decides."""
    if isinstance(node, ast.Truth):
        value = evaluate(node.value, env)
        if isinstance(value, bool):
            return value
        if isinstance(value, Word):
            raise undefined(value, env)
        raise node_error(node, f"a condition is true or false, or a comparison "
                               f"(==, !=, <, <=, >, >=), not {describe(value)}")
    if isinstance(node, ast.Not):
        inner = condition(node.operand, env)
        return (not inner) if isinstance(inner, bool) else sympy.Not(inner)
    if isinstance(node, ast.BoolOp):
        stop = node.op == "or"  # the value that decides: True for or, False for and
        left = condition(node.left, env)
        if left is stop:
            return stop
        right = condition(node.right, env)
        if right is stop:
            return stop
        if isinstance(left, bool):
            return right
        if isinstance(right, bool):
            return left
        return sympy.Or(left, right) if stop else sympy.And(left, right)
    left, right = evaluate(node.left, env), evaluate(node.right, env)
    numbers = isinstance(left, sympy.Basic) and isinstance(right, sympy.Basic)
    # A word written in the condition itself is a name that is not defined, unless the
    # other side holds a word to compare it with (`act == relu`, act a block argument).
    bare = [(v, side) for v, side in ((left, node.left), (right, node.right))
            if isinstance(v, Word) and isinstance(side, ast.Name)
            and (v.line, v.column) == (side.line, side.column)]
    held = [v for v in (left, right) if isinstance(v, Word) and all(v is not b for b, _ in bare)]
    if bare and not held:
        raise undefined(bare[0][0], env)
    if not numbers:
        if node.op not in ("==", "!="):
            for value, side in ((left, node.left), (right, node.right)):
                if not isinstance(value, sympy.Basic):
                    raise node_error(side, f"{node.op} compares numbers, not "
                                           f"{describe(value)}")
        same = _key(left) == _key(right)
        return same if node.op == "==" else not same
    result = _RELATIONS[node.op](left, right)
    if result in (sympy.true, sympy.false):
        return bool(result)
    return result


def _key(value: Any) -> tuple:
    """What ``==`` compares of a value that is not a number: a word and a string by
    their text (``relu``, ``"relu"``), true and false as themselves."""
    if isinstance(value, (Word, str)):
        return ("text", str(value))
    return (type(value).__name__, value)
