"""Python source text for generated code: safe names and printed values.

Nothing the user wrote reaches the generated code as code except through here: a name
becomes an identifier only if it is one (letters, digits, ``_``) and is not a keyword,
a builtin the code uses, or an attribute of the framework's classes; otherwise it is
changed (``lambda`` -> ``lambda_``). Every string goes through ``repr``. Expressions are
printed from sympy trees, never from the text the user typed.

>>> import sympy
>>> H = sympy.Symbol("H", positive=True, integer=True)
>>> Names({"super"}).name("lambda"), Names().name("h/ln_1")
('lambda_', 'h_ln_1')
>>> Printer({H: "H"}).int(sympy.floor(H / 2) + 1)
'1 + (H // 2)'
"""
from __future__ import annotations

import keyword
import re

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..errors import UsageError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Names every generated file uses itself: a model's name never takes them.
RESERVED = frozenset({
    "self", "super", "range", "int", "float", "len", "max", "min", "abs", "math",
    "torch", "nn", "F", "keras", "layers", "ops", "model", "inputs", "outputs", "x", "xs",
    "print", "object", "type", "tuple", "list", "dict", "zip", "sum", "isinstance",
    "getattr", "setattr", "exec", "eval", "open", "compile", "__import__", "globals",
    "locals", "vars", "dir", "id", "hash", "iter", "next", "repr", "str", "bool",
    "annotations", "Any", "_"})


class Names:
    """Hands out distinct, safe Python identifiers for the user's names."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()):
        self.reserved = RESERVED | frozenset(reserved)
        self.used: dict[str, str] = {}   # user's name -> identifier
        self.taken: set[str] = set()

    def name(self, text: str, hint: str = "") -> str:
        """The identifier for ``text`` (the same one each time it is asked), made
        from ``hint`` if given (a shorter form of the same name)."""
        if text in self.used:
            return self.used[text]
        base = re.sub(r"[^A-Za-z0-9_]", "_", hint or text)
        if not base or base[0].isdigit():
            base = "v_" + base
        base = base.strip("_") if base.strip("_") else "v"
        if not _IDENT.match(base):  # unreachable after the substitution; kept as a guard
            raise UsageError(f"cannot make a Python name of {text!r}")
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) \
                or base in self.reserved or base.startswith("__"):
            base += "_"
        out, k = base, 1
        while out in self.taken:
            k += 1
            out = f"{base}_{k}"
        self.taken.add(out)
        self.used[text] = out
        return out

    def fresh(self, base: str) -> str:
        """A new identifier not handed out before (for the code's own variables)."""
        out, k = base, 1
        while out in self.taken or out in self.reserved:
            k += 1
            out = f"{base}_{k}"
        self.taken.add(out)
        return out


class _Str(StrPrinter):
    """sympy's str printer with the symbols renamed and integer division written as
    Python's ``//``: symbol sizes are whole, so floor(a/b) is exactly ``a // b``."""

    def __init__(self, names: dict, whole: bool):
        super().__init__({"order": "none"})
        self.names, self.whole = names, whole

    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise UsageError(f"the expression uses '{expr}', which is not a symbol "
                             "of the model") from None

    def _floordiv(self, num, den) -> str:
        """``(a // b)``, bracketed: Python's ``*`` and ``//`` bind alike, left to right,
        so ``2*H // 2`` would be (2H) // 2, not 2 (H // 2)."""
        prec = PRECEDENCE["Mul"]
        return f"({self.parenthesize(num, prec)} // {self.parenthesize(den, prec + 1)})"

    def _print_floor(self, expr):
        num, den = sympy.fraction(sympy.together(expr.args[0]))
        return self._floordiv(num, den)

    def _print_ceiling(self, expr):
        num, den = sympy.fraction(sympy.together(expr.args[0]))
        return f"(-(-{self.parenthesize(num, PRECEDENCE['Mul'] + 1)} // " \
               f"{self.parenthesize(den, PRECEDENCE['Mul'] + 1)}))"

    def _whole_fraction(self, expr):
        if self.whole:
            num, den = sympy.fraction(sympy.together(expr))
            if den != 1:
                return self._floordiv(num, den)
        return None

    def _print_Add(self, expr, order=None):
        return self._whole_fraction(expr) or super()._print_Add(expr, order)

    def _print_Mul(self, expr):
        return self._whole_fraction(expr) or super()._print_Mul(expr)

    def _print_Rational(self, expr):
        if self.whole:
            return self._floordiv(expr.p, expr.q)
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Mod(self, expr):
        prec = PRECEDENCE["Mul"]
        return f"{self.parenthesize(expr.args[0], prec)} % " \
               f"{self.parenthesize(expr.args[1], prec + 1)}"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def emptyPrinter(self, expr):
        raise UsageError(f"cannot write {expr} as Python code")

    def _print_Function(self, expr):
        raise UsageError(f"cannot write {expr} as Python code")


class Printer:
    """Python source for values: whole-number expressions, real numbers, literals."""

    def __init__(self, names: dict):
        self._whole = _Str(names, True)
        self._real = _Str(names, False)

    def int(self, expr) -> str:
        """A whole number (a size): rational parts become ``//``."""
        if isinstance(expr, bool):
            return repr(expr)
        if isinstance(expr, int):
            return str(expr)
        return self._whole.doprint(expr)

    def real(self, expr) -> str:
        """A real number (a rate, an epsilon)."""
        if isinstance(expr, (bool, int)):
            return repr(expr)
        if isinstance(expr, float):
            return repr(expr)
        if expr.is_number:
            return repr(float(expr))
        return self._real.doprint(expr)

    def lit(self, value) -> str:
        """Any converted argument: numbers, words (as strings), flags, tuples."""
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        if isinstance(value, (tuple, list)):
            items = [self.lit(v) for v in value]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, sympy.Expr):
            return self.int(value) if value.is_integer is not False and not (
                value.is_number and not value.is_integer) else self.real(value)
        raise UsageError(f"cannot write the value {value!r} as Python code")
