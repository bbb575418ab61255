"""Formulas and conditions as text, read by symparam's own grammar (never by sympy's
parser, which evaluates text as Python).

A formula is what symparam prints (``h*(n + 1)``, ``ceiling(H/2)``, ``Max(a, b)``):
numbers, the model's symbols, ``+ - * / // % **``, brackets and the functions of
:data:`FUNCTIONS`. A condition compares formulas (``==``, ``!=``, ``<``, ``<=``,
``>``, ``>=``) and joins comparisons with ``and``, ``or`` and ``not``. Anything else
(a name that is not a symbol, another function, text, a list, attribute access) is an
error naming its column, with a caret under it; nothing is ever evaluated.

>>> from symparam.values import symbol
>>> read("h*(n + 1)", ["n", "h"]) == symbol("h") * (symbol("n") + 1)
True
>>> read_condition("d % h == 0 and d >= 64", ["d", "h"])
[Eq(Mod(d, h), 0), d >= 64]
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Iterable, Optional

import sympy
from lark import Transformer, v_args
from lark.exceptions import VisitError

from .errors import SourceError, SymparamError, shortened, window
from .limits import MAX_DIGITS
from .parser import parse_fragment
from .values import expr_digits, symbol

# The functions a formula may call: those symparam prints (sympy's names) and the
# language's own spellings.
FUNCTIONS = {
    "floor": (1, sympy.floor), "ceiling": (1, sympy.ceiling), "ceil": (1, sympy.ceiling),
    "Max": (-1, sympy.Max), "max": (-1, sympy.Max), "Min": (-1, sympy.Min),
    "min": (-1, sympy.Min), "Mod": (2, sympy.Mod), "sqrt": (1, sympy.sqrt),
    "Abs": (1, sympy.Abs), "abs": (1, sympy.Abs),
}
_RELATIONS = {"==": sympy.Eq, "!=": sympy.Ne, "<": sympy.Lt, "<=": sympy.Le,
              ">": sympy.Gt, ">=": sympy.Ge}
_COMPARE = "compare two expressions with ==, !=, <, <=, > or >=, such as 'd % H == 0'"
_NUMBER = re.compile(r"([0-9.]*)(?:[eE]([+-]?[0-9]+))?$")


class FormulaError(SourceError):
    """An error in one line of formula or condition: ``what: column N: message``, the
    text and a caret."""

    def __init__(self, message: str, column: Optional[int], text: str, what: str):
        super().__init__(message, line=1, column=column, source=text)
        self.what = what

    def __str__(self) -> str:
        head = f"{self.what}: " + (f"column {self.column}: " if self.column else "")
        if "\n" in self.source or self.column is None:
            return head + self.message + f" (in {shortened(self.source)})"
        text, caret = window(self.source, self.column)
        return f"{head}{self.message}\n    {text}\n    {caret}"


def _at(tok) -> Optional[int]:
    return getattr(tok, "column", None)


class _Error(Exception):
    """Raised inside the transformer (lark wraps it in VisitError)."""

    def __init__(self, message: str, column: Optional[int]):
        super().__init__(message)
        self.message, self.column = message, column


def _first_column(tree) -> Optional[int]:
    meta = getattr(tree, "meta", None)
    return getattr(meta, "column", None) if meta is not None else _at(tree)


@v_args(meta=True)
class _Reader(Transformer):
    """Parse tree -> sympy, names looked up in ``symbols``; a subtree that builds
    anything but a formula is an error at its column."""

    def __init__(self, symbols: dict):
        super().__init__()
        self.symbols = symbols

    def formula(self, meta, items):
        return items[0]

    def condition(self, meta, items):
        return items[0]

    def number(self, meta, items):
        tok = items[0]
        mantissa, exponent = _NUMBER.match(str(tok)).groups()
        digits = sum(c.isdigit() for c in mantissa)  # leading zeros too: Python counts them
        if digits > MAX_DIGITS or (exponent and abs(int(exponent)) > MAX_DIGITS):
            raise _Error(f"the number {str(tok)[:20]}... has more than {MAX_DIGITS:,} "
                         f"digits (MAX_DIGITS)", _at(tok))
        value = Fraction(str(tok))
        return sympy.Rational(value.numerator, value.denominator)

    def name(self, meta, items):
        tok = items[0]
        if str(tok) not in self.symbols:
            raise _Error(_unknown(str(tok), self.symbols), _at(tok))
        return self.symbols[str(tok)]

    def string(self, meta, items):
        raise _Error("text is not part of a formula", _at(items[0]))

    def paren(self, meta, items):
        return items[0]

    def list_expr(self, meta, items):
        raise _Error("a list is not part of a formula", getattr(meta, "column", None))

    def tensor_size(self, meta, items):
        raise _Error("a tensor's size (in.channels) is not part of a formula: use the "
                     "model's symbols", _at(items[0]))

    def truth(self, meta, items):
        raise _Error(_COMPARE, None)  # (a bare value is a condition of `if` only)

    def call(self, meta, items):
        func, *args = items
        args = [a for a in args if a is not None]
        if str(func) not in FUNCTIONS:
            raise _Error(f"unknown function '{func}' (a formula may use "
                         f"{', '.join(sorted(FUNCTIONS, key=str.lower))})", _at(func))
        arity, fn = FUNCTIONS[str(func)]
        if (arity >= 0 and len(args) != arity) or not args:
            raise _Error(f"{func} takes {arity if arity >= 0 else 'one or more'} "
                         f"argument{'s' if arity != 1 else ''}, not {len(args)}", _at(func))
        return fn(*args)

    def chain(self, meta, items):
        """Operators of one level, left to right (a sum added at once: sympy adds
        thousands of terms one by one in quadratic time)."""
        value, column = items[0], getattr(meta, "column", None)
        if items[1] in ("+", "-"):
            return sympy.Add(value, *(t if op == "+" else -t
                                      for op, t in zip(items[1::2], items[2::2])))
        for op, right in zip(items[1::2], items[2::2]):
            if op != "*" and right == 0:
                raise _Error("division by zero", column)
            if op == "*":
                value = _times(value, right)
            elif op == "/":
                value = _times(value, 1 / right)
            elif op == "//":
                value = sympy.floor(value / right)
            else:
                value = sympy.Mod(value, right)
            _check_degree(value, column)
        return _real(value, column)

    def pow(self, meta, items):
        left, right = items
        column = getattr(meta, "column", None)
        _check_power(left, right, column)
        return _real(left ** right, column)

    def neg(self, meta, items):
        return _times(sympy.Integer(-1), items[0])

    def compare(self, meta, items):
        left, op, right = items
        return _RELATIONS[str(op)](left, right, evaluate=False)

    def and_(self, meta, items):
        return _All([c for item in items for c in (item if isinstance(item, _All) else [item])])

    def or_(self, meta, items):
        return sympy.Or(*[_joined(i) for i in items], evaluate=False)

    def not_(self, meta, items):
        return sympy.Not(_joined(items[0]))


def _times(left, right):
    """``left * right`` as symparam builds it: a number times a sum stays a product,
    ``2*(n + 1)``, as printed (sympy alone would distribute it into ``2*n + 2``)."""
    for number, other in ((left, right), (right, left)):
        if number.is_Number and _scaled_sum(other):
            coeff, total = other.as_coeff_Mul() if other.is_Mul else (1, other)
            coeff = number * coeff
            return total if coeff == 1 else sympy.Mul(coeff, total, evaluate=False)
    return left * right


def _scaled_sum(expr) -> bool:
    """A sum, or a number times a sum kept as a product."""
    return expr.is_Add or (expr.is_Mul and len(expr.args) == 2 and expr.args[0].is_Number
                           and expr.args[1].is_Add)


class _All(list):
    """Conditions joined by ``and``, in their order (a top-level one becomes the list
    :func:`read_condition` returns)."""


def _joined(cond):
    return sympy.And(*cond) if isinstance(cond, _All) else cond


_NOT_REAL = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)


def _real(value, column):
    """Refuse what no size or count can be: 0**-1, (-1)**(1/2)."""
    if isinstance(value, sympy.Basic) and value.has(*_NOT_REAL):
        raise _Error(f"this is not a finite real number (it gives {str(value)[:40]})", column)
    return value


def _degree(expr) -> float:
    """A bound of how fast ``expr`` grows with its symbols: the largest power of a
    symbol it holds (1 for a symbol alone), the exponents of nested powers multiplied."""
    if expr.is_Symbol:
        return 1.0
    if expr.is_Pow and expr.exp.is_number:
        return _degree(expr.base) * float(abs(expr.exp))
    if expr.is_Mul:
        return sum(_degree(a) for a in expr.args)
    return max((_degree(a) for a in expr.args), default=0.0)


def _check_degree(value, column) -> None:
    """Refuse a formula whose value at sizes of a few digits would pass MAX_DIGITS:
    d**999 * d**999, ((d**10)**10)**10 (sympy combines them into one power)."""
    if isinstance(value, sympy.Basic) and value.free_symbols and _degree(value) > MAX_DIGITS:
        raise _Error(f"this formula grows like a power of more than {MAX_DIGITS:,} "
                     f"(MAX_DIGITS)", column)


def _check_power(base, exponent, column) -> None:
    """Refuse a power whose value would have more than MAX_DIGITS digits."""
    if not exponent.is_number:
        # 2**k, 2**(k + 1): a number to a linear exponent; d**d**d would be evaluated at
        # every value a search tries, and has billions of digits at the first.
        if not base.is_number or _degree(exponent) > 1 or any(
                p.is_Pow for p in sympy.preorder_traversal(exponent)):
            raise _Error("an exponent that holds a symbol needs a number as its base and "
                         "no power in it (2**k, 2**(k + 1))", column)
        return
    if base.free_symbols and (_degree(base) or 1) * float(abs(exponent)) > MAX_DIGITS:
        raise _Error(f"this power grows like a power of more than {MAX_DIGITS:,} "
                     f"(MAX_DIGITS)", column)
    if base.free_symbols and expr_digits(base) * float(abs(exponent)) > MAX_DIGITS:
        raise _Error(f"this power holds a number of about {expr_digits(base):,.0f} digits "
                     f"to the power {exponent}: more than {MAX_DIGITS:,} digits (MAX_DIGITS)",
                     column)
    if base.is_number and not base.is_Rational and base.is_real:
        digits = abs(float(sympy.log(abs(base), 10).evalf(15))) * float(abs(exponent))
        if digits > MAX_DIGITS:
            raise _Error(f"this power has more than {MAX_DIGITS:,} digits (MAX_DIGITS)",
                         column)
    if abs(exponent) > MAX_DIGITS and not (base.is_number and abs(base) in (0, 1)):
        raise _Error(f"the exponent {exponent} is larger than {MAX_DIGITS:,} (MAX_DIGITS)",
                     column)
    if base.is_Rational and base not in (0, 1, -1):
        size = max(abs(int(base.p)), int(base.q))
        if float(abs(exponent)) * math.log10(size) > MAX_DIGITS:
            raise _Error(f"{base}**{exponent} has more than {MAX_DIGITS:,} digits "
                         f"(MAX_DIGITS)", column)


def _unknown(name: str, symbols: dict) -> str:
    if name in FUNCTIONS:
        return f"'{name}' is a function: write {name}(...)"
    names = list(symbols)
    known = ", ".join(names[:20]) + (f", ... ({len(names):,} in all)" if len(names) > 20
                                     else "") if names else "none"
    return f"unknown symbol {name} (the model's symbols: {known})"


def _symbols(names: Optional[Iterable], text: str) -> dict:
    """Names to sympy symbols: the given ones (names or sympy symbols), or with
    ``names`` None every name in the text, as positive integers like a model's."""
    if names is None:
        found = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
        return {n: symbol(n) for n in found if n not in FUNCTIONS}
    out = {}
    for n in names:
        s = n if isinstance(n, sympy.Symbol) else symbol(str(n))
        out[s.name] = s
    return out


def _read(text: str, names, start: str, what: str):
    if not isinstance(text, str):
        raise SymparamError(f"{what}: text is expected, not a {type(text).__name__}")
    try:
        tree = parse_fragment(text, start)
        return _Reader(_symbols(names, text)).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, _Error):
            raise FormulaError(err.orig_exc.message, err.orig_exc.column, text, what) from None
        raise
    except SourceError as err:
        if start == "condition" and _is_formula(text):
            raise FormulaError(_COMPARE, None, text, what) from None
        message = err.message.removeprefix("syntax error: ").replace(
            "the end of the file", "the end of the text").replace(
            "the file ends too early", "the text ends too early")
        raise FormulaError(message, err.column, text, what) from None
    except RecursionError:
        raise FormulaError("nested too deeply to read", None, text, what) from None


def _is_formula(text: str) -> bool:
    try:
        parse_fragment(text, "formula")
    except SymparamError:
        return False
    return True


def read(text: str, symbols: Optional[Iterable] = None, what: str = "bad formula"):
    """A formula as a sympy expression. ``symbols``: the names (or sympy symbols) it
    may use; None takes every name in it as a positive integer symbol."""
    return _read(text, symbols, "formula", what)


def read_condition(text: str, symbols: Optional[Iterable] = None,
                   what: str = "bad condition") -> list:
    """A condition as a list of sympy conditions that must all hold (one per
    comparison joined by a top-level ``and``)."""
    cond = _read(text, symbols, "condition", what)
    return list(cond) if isinstance(cond, _All) else [cond]
