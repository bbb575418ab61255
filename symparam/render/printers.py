"""Math for the templates: one printer for LaTeX (LaTeX documents and Markdown) and
one for plain text, with the same methods, so the templates read alike.

A chain is a list of steps, each step the terms of one side of an equation
(``[("h n", "h"), ("h (n + 1)",), ("512 (4096 + 1)",), ("2,097,664",)]``), so long
sums can break between terms. Numbers put into a formula stay unevaluated
(``512 \\cdot (4096 + 1)``): the handcalcs pattern, formula = numbers = result.
"""
from __future__ import annotations

import re
from typing import Optional

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..exprs import as_expr
from ..stats import ModelStats
from . import fmt
from .facts import LayerFacts, TotalFacts
from .shapes import ShapeRule
from .symbols import symbol_names

Step = tuple  # the terms of one side of an equation


# Every value a template hands the printers is checked first (sympy would read text).
_expr = as_expr

MAX_PARTS = 12  # a total lists its layers' numbers only up to this many


def _key(step: Step) -> str:
    return " + ".join(step).replace("+ -", "- ")


def _distinct(steps: list) -> list:
    """The steps, a step that prints as the one before it left out."""
    out: list = []
    for step in steps:
        if step and (not out or _key(out[-1]) != _key(step)):
            out.append(step)
    return out


class _Latex(LatexPrinter):
    r"""sympy's LaTeX, with a floor or ceiling over one fraction as a textbook writes
    it: ``\left\lfloor \frac{H - 3}{2} \right\rfloor``, not ``\frac{H}{2} - \frac{3}{2}``.
    With ``thin`` (papers' notation), numbers are grouped with thin spaces
    (``23\,578\,240``) and a long coefficient stands apart from its symbols, ungrouped
    (``3136\,C``, not ``3{,}136 C``, which reads as 3,136C)."""

    _default_settings = {**LatexPrinter._default_settings, "thin": False}

    def _print_Integer(self, expr):
        if self._settings["thin"]:
            return fmt.number(int(expr)).replace(",", r"\,")
        return fmt.tex_number(int(expr))  # 23{,}578{,}240, as the results print

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        # (Not with the values put in, ``mul_symbol="dot"``: 3136 \cdot 3, never 3136\,3.)
        if (self._settings["thin"] and self._settings["mul_symbol"] is None
                and coeff.is_Integer and abs(coeff) >= 1000 and rest != 1
                and not rest.is_number):
            sign = "- " if coeff < 0 else ""
            return rf"{sign}{abs(int(coeff))}\,{super()._print_Mul(rest)}" if rest.is_Mul \
                else rf"{sign}{abs(int(coeff))}\,{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        return super()._print_Mul(expr)

    def _print_floor(self, expr, exp=None):
        return self._rounding(expr, r"\lfloor", r"\rfloor", exp)

    def _print_ceiling(self, expr, exp=None):
        return self._rounding(expr, r"\lceil", r"\rceil", exp)

    def _rounding(self, expr, left, right, exp):
        tex = r"\left%s %s \right%s" % (left, self._print(sympy.together(expr.args[0])), right)
        return f"{tex}^{{{exp}}}" if exp is not None else tex

    def _print_Add(self, expr, order=None):
        # A sum whose terms share a denominator reads better over it: (H - 1)/2.
        joined = sympy.together(expr)
        if joined != expr and joined.is_Mul and not joined.has(sympy.floor, sympy.ceiling):
            return self._print(joined)
        return super()._print_Add(expr, order)


def latex(expr, **settings) -> str:
    """``sympy.latex`` with the textbook floors and ceilings of :class:`_Latex`."""
    return _Latex(settings).doprint(expr)


def _grouped(sizes, per_copy):
    """``(classes, (128, 1))`` when every size is a number times one common factor:
    the count is then written ``classes (128 + 1)``; None otherwise."""
    coeff, common = _expr(per_copy).as_coeff_Mul()
    if len(sizes) < 2 or common == 1 or not coeff.is_Integer:
        return None
    numbers = tuple(sympy.cancel(_expr(t) / common) for t in sizes)
    if not all(n.is_Integer for n in numbers) or len(set(numbers)) < 2:
        return None  # h + h + h + h reads best as 4h
    return common, numbers


class TexMath:
    """The ``math`` helper of LaTeX and Markdown templates, bound to one model:
    ``math(expr)`` is the LaTeX of an expression in the model's symbols."""

    tex = True
    out_label = r"n_{\mathrm{out}}"  # the output size in a shape rule
    times = r" \times "
    # Characters of math a row holds: an article's text is about 62 wide, less the
    # label's column (align* puts the labels in a column of their own).
    line = 60
    width = 52  # rows without a long label
    opening, closing = r"\bigl(", r"\bigr)"  # brackets a row break may fall between

    def __init__(self, stats: ModelStats, breakable: bool = False, paper: bool = False,
                 thin: bool = False):
        self.stats = stats
        self.breakable = breakable  # LaTeX may break a long shape after a comma
        # Papers' notation (the shipped derivations): the batch axis as b (None is
        # Keras's, not math); with ``thin`` (LaTeX documents) numbers grouped with thin
        # spaces and ``3136\,C``. Markdown keeps ``{,}``, which every Markdown renderer
        # (GitHub, KaTeX, the notebook and the site) shows as the comma Keras prints.
        self.paper = paper
        self.thin = thin
        self.names = symbol_names(stats.symbols, stats.latex)
        self.valued = dict(self.names)
        for s, v in stats.values.items():
            self.valued[s] = self.number(int(v))
        taken = {s.name for s in stats.symbols}
        self.batch = (r"\mathrm{None}" if not paper else
                      "b" if "b" not in taken else r"\mathrm{batch}")

    def __call__(self, expr) -> str:
        expr = _expr(expr)
        value = fmt.as_int(expr)
        if value is not None:
            return self.number(value)
        return latex(expr, symbol_names=self.names, thin=self.thin)

    def number(self, value: int) -> str:
        if self.thin:
            return fmt.number(value).replace(",", r"\,")
        return fmt.tex_number(value)

    def with_values(self, expr) -> str:
        """``expr`` with the known values put in but nothing evaluated:
        ``512 \\cdot \\left(4{,}096 + 1\\right)``."""
        return latex(_expr(expr), symbol_names=self.valued, mul_symbol="dot",
                     thin=self.thin)

    @staticmethod
    def text(words: str) -> str:
        """Words inside math: ``\\text{Total params}``, escaped."""
        return r"\text{%s}" % fmt.tex_escape(words)

    def factor(self, expr) -> str:
        """An expression as a factor of a product: a sum in brackets."""
        tex = self(expr)
        return rf"\left({tex}\right)" if isinstance(_expr(expr), sympy.Add) else tex

    def product(self, dims) -> str:
        return self.dot.join(self.factor(d) for d in dims) if dims else "1"

    def dim(self, expr) -> str:
        """A size in a shape: numbers without separators, which would read as commas
        between axes."""
        value = fmt.as_int(expr)
        return str(value) if value is not None else self(expr)

    def shape(self, dims) -> str:
        return self.times.join(self.dim(d) for d in dims) if dims else "1"

    def batch_shape(self, dims) -> str:
        comma = r", \allowbreak " if self.breakable else ", "
        return "(" + self.batch + "".join(comma + self.dim(d) for d in dims) + ")"

    def shape_at(self, dims) -> str:
        """A shape in symbols, then with the values put in when that differs."""
        steps = [self.batch_shape(dims)]
        if self.stats.values:
            steps.append(self.batch_shape(self.stats.shape_at(dims)))
        return " = ".join(_distinct(steps))

    def terms(self, expr) -> Step:
        """The terms of a sum, in the order sympy prints them; a product too wide for
        a row, ``d (a + b + c)``, as pieces a row may break between."""
        expr = _expr(expr)
        if isinstance(expr, sympy.Add) and not expr.is_number:
            return tuple(piece for t in expr.as_ordered_terms()
                         for piece in self._broken(t, self.term(t), self.terms))
        return self._broken(expr, self(expr), self.terms)

    def _broken(self, expr, whole: str, inner_terms) -> Step:
        """A product too wide for a row, ``d (a + b + c)``, as pieces a row may break
        between (``inner_terms`` prints the sum's terms); else ``whole``."""
        if isinstance(expr, sympy.Mul) and visible(whole) > self.width:
            sums = [f for f in expr.args if isinstance(f, sympy.Add)]
            if sums:  # the sum with the most terms is broken; the rest is its factor
                widest = max(sums, key=lambda f: len(f.args))
                rest = sympy.Mul(*[f for f in expr.args if f is not widest])
                head = self.bracketed(rest, self(rest) if inner_terms == self.terms
                                   else self.with_values(rest))
                inner = inner_terms(widest)
                first = f"{head} {self.opening}{inner[0]}" if self.tex else \
                    f"{head}*{self.opening}{inner[0]}"
                return (first, *inner[1:-1], inner[-1] + self.closing)
        return (whole,)

    def term(self, expr) -> str:
        """A term of a sum."""
        return self(expr)

    def join(self, step: Step) -> str:
        out = step[0] if step else "0"
        for term in step[1:]:
            out += f" - {term[1:].lstrip()}" if term.startswith("-") else f" + {term}"
        return out

    def inline(self, steps: list) -> str:
        """``a = b = c`` on one line."""
        return " = ".join(self.join(step) for step in steps)

    def _times(self, multiplier, step: Step) -> Step:
        """``L \\cdot (a + b)``: a step standing ``multiplier`` times, as pieces a row
        may break between (a layer with many weights is wider than the page)."""
        return self._times_pieces(self.bracketed(multiplier, self(multiplier)), step)

    def _times_pieces(self, factor: str, step: Step) -> Step:
        if len(step) == 1:
            return (factor + self.dot + step[0],)
        return (f"{factor}{self.dot}{self.opening}{step[0]}", *step[1:-1],
                step[-1] + self.closing)

    def bracketed(self, expr, text: str) -> str:
        """``text`` (how ``expr`` prints) as a factor of a product: a sum in brackets,
        ``(L - L_d) \\cdot ...``, not ``-L_d + L \\cdot ...``."""
        return f"{self.opening}{text}{self.closing}" if isinstance(
            _expr(expr), sympy.Add) else text

    dot = r" \cdot "

    # ---- chains ----------------------------------------------------------------

    def layer_chain(self, f: LayerFacts) -> list:
        """One layer's count: its weights' sizes added, the structured form, the same
        with the numbers put in, the result."""
        stats = self.stats
        counted = [w for w in f.weights if w.counted]
        # A size with several numbers in its shape is written as the product (7 · 7 ·
        # C · 32, not 1568 C): the reader sees where the number comes from.
        added = tuple(self.product(w.shape) if sum(
            fmt.as_int(d) is not None for d in w.shape) > 1 else self(w.size)
            for w in counted) or ("0",)
        grouped = _grouped([w.size for w in counted], f.per_copy)
        if grouped is not None:  # classes (128 + 1), which sympy would add up to 129
            common, numbers = grouped
            inner = rf"\left({self.join(tuple(self.term(n) for n in numbers))}\right)" if self.tex \
                else f"({self.join(tuple(self.term(n) for n in numbers))})"
            steps = [added, (self(common) + (" " if self.tex else "*") + inner,)]
        else:
            steps = [added, self.terms(f.per_copy)]
        if f.multiplier != 1:
            steps = [self._times(f.multiplier, s) for s in steps]
        structured = f.multiplier * f.per_copy if f.multiplier != 1 else f.per_copy
        if stats.values and (_expr(structured).free_symbols & set(stats.values)):
            if grouped is not None:
                numbers = (self.with_values(common) + self.dot + inner,)
                if f.multiplier != 1:
                    numbers = self._times_valued(f.multiplier, numbers)
            elif f.multiplier != 1:
                numbers = self._valued_times(f.multiplier, f.per_copy)
            else:
                numbers = self._valued_terms(f.per_copy)
            steps.append(numbers)
        steps.append(self.result(f.at_values))
        return _distinct(steps)

    def _times_valued(self, multiplier, step: Step) -> Step:
        return (self.bracketed(multiplier, self.with_values(multiplier)) + self.dot
                + self.join(step),)

    def _valued_terms(self, expr) -> Step:
        expr = _expr(expr)
        if isinstance(expr, sympy.Add):
            return tuple(piece for t in expr.as_ordered_terms()
                         for piece in self._broken(t, self.with_values(t),
                                                   self._valued_terms))
        return (self.with_values(expr),)

    def _valued_product(self, expr) -> Step:
        """A total's closed form with the numbers put in; a product k (a + b + ...) as
        pieces a row may break between (a block standing L - L_d times)."""
        expr = _expr(expr)
        if isinstance(expr, sympy.Mul):  # broken only when too wide for a row
            return self._broken(expr, self.with_values(expr), self._valued_terms)
        return self._valued_terms(expr)

    def _valued_times(self, multiplier, per_copy) -> Step:
        return self._times_pieces(self.bracketed(multiplier, self.with_values(multiplier)),
                                  self._valued_terms(per_copy))

    def result(self, expr) -> Step:
        """A count with the values put in: the number, or what is left of the sum."""
        value = fmt.as_int(expr)
        return (self.number(value),) if value is not None else self.terms(expr)

    def total_chain(self, t: TotalFacts) -> list:
        """A total: its closed form, the layers' numbers added, the number."""
        steps = [self.terms(t.expr), self.terms(t.closed)]
        known = all(fmt.as_int(p) is not None for p in t.parts)
        if self.stats.values and known and 1 < len(t.parts) <= MAX_PARTS:
            steps.append(tuple(self(p) for p in t.parts))
        elif self.stats.values and _expr(t.closed).free_symbols & set(self.stats.values):
            steps.append(self._valued_product(t.closed))  # the closed form, numbers in
        steps.append(self.result(t.at_values))
        return _distinct(steps)

    def axis_label(self, step) -> str:
        """The left side of one axis's size: ``H_{\\mathrm{out}}`` for the axis whose
        input size is in the model's symbol H, else ``n_{\\mathrm{out}}``."""
        symbols = _expr(step.size).free_symbols
        if len(symbols) != 1:
            return self.out_label
        (symbol,) = symbols
        return self._axis(symbol)

    def _axis(self, symbol) -> str:
        return "{%s}_{\\mathrm{out}}" % self.names.get(symbol, latex(symbol))

    def rule(self, rule: ShapeRule) -> str:
        r"""A shape rule's formula in letters: ``\left\lceil \frac{n}{s} \right\rceil``."""
        return rule.filled(self, None, self.tex)

    def shape_chain(self, rule: ShapeRule, step) -> list:
        """One output axis: the rule with this layer's numbers in, the size in
        symbols, the number."""
        steps = [(rule.filled(self, step, self.tex),), self.terms(step.out)]
        at = self.stats.at(step.out)
        if at != step.out:
            steps.append(self.result(at))
        return _distinct(steps)

    # ---- layout -----------------------------------------------------------------

    def room(self, *labels: str) -> int:
        """How much math a row holds beside the widest of ``labels``."""
        return max(24, self.line - max((visible(label) for label in labels), default=0))

    def total_room(self, totals) -> int:
        """The room beside the totals' labels, which share one ``align*``."""
        return self.room(*(self.text(t.label) for t in totals))

    def table_fits(self, f: LayerFacts) -> bool:
        """Does the layer's weight table (name, shape, role, size) fit an article's
        line? When not, a template lists the weights instead."""
        columns = [[len(w.name) + 1 for w in f.weights], [visible(self.shape(w.shape))
                                                          for w in f.weights],
                   [len(w.role_text) for w in f.weights], [visible(self(w.size))
                                                           for w in f.weights]]
        return sum(max(c, default=0) for c in columns) + 8 <= self.line

    def fitted(self, label: str, steps: list) -> str:
        """``label &= a = b = c`` on one row when it fits the line, else :meth:`align`'s
        rows (a block's layers, one row each where they can)."""
        inline = self.inline(steps)
        if self.width_of(label) + self.width_of(inline) + 3 <= self.line:
            return f"{label} &= {inline}" if self.tex else f"{label} = {inline}"
        return self.align(label, steps)

    @staticmethod
    def width_of(text: str) -> int:
        return visible(text)

    def align(self, label: str, steps: list, width: Optional[int] = None) -> str:
        """Rows of an ``align*`` or ``aligned``: ``label &= a \\\\ &= b``, each step on
        its own row and a long sum broken over several rows (``&\\quad + ...``)."""
        width = width or min(self.width, self.room(label))
        rows = []
        for step in steps:
            line, used = "", 0
            for i, term in enumerate(step):
                piece = term if i == 0 else (f"- {term[1:].lstrip()}" if term.startswith("-")
                                             else f"+ {term}")
                size = visible(piece)
                if line and used + size > width:
                    rows.append(line)
                    line, used = r"&\quad " + piece, size
                else:
                    line = (line + " " + piece) if line else "&= " + piece
                    used += size
            rows.append(line or "&= 0")
        rows[0] = f"{label} {rows[0]}"
        return " \\\\\n  ".join(rows)


def visible(tex: str) -> int:
    """Roughly how wide a piece of LaTeX prints, in characters.

    >>> visible(r"\\mathit{classes} \\left(h + 1\\right)")
    14
    """
    tex = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}",
                 lambda m: "x" * max(len(m.group(1)), len(m.group(2))), tex)
    tex = re.sub(r"\\(left|right|cdot|allowbreak|quad)\b", " ", tex)
    tex = re.sub(r"\\(mathit|mathrm|text|frac|operatorname)\b", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    tex = tex.replace("{,}", ",")
    return len(re.sub(r"[{}\s^_]", "", tex)) + tex.count(" ") // 2


class _Text(StrPrinter):
    """``str()`` with floors and ceilings over one fraction, ``floor((H - 3)/2)``, and
    (given ``values``) the known values in place of the symbols."""

    def __init__(self, values: Optional[dict] = None):
        super().__init__()
        self.values = values or {}

    def _print_floor(self, expr):
        return f"floor({self._print(sympy.together(expr.args[0]))})"

    def _print_ceiling(self, expr):
        return f"ceil({self._print(sympy.together(expr.args[0]))})"

    def _print_Add(self, expr, order=None):
        joined = sympy.together(expr)
        if joined != expr and joined.is_Mul and not joined.has(sympy.floor, sympy.ceiling):
            return self._print(joined)
        return super()._print_Add(expr, order)

    def _print_Symbol(self, expr):
        if expr in self.values:  # no separators inside a formula: 512*(4096 + 1)
            return str(int(self.values[expr]))
        return super()._print_Symbol(expr)


class TextMath(TexMath):
    """The same helper for plain text: ``h*(n + 1)``, ``4,096``, ``n x h``."""

    def _axis(self, symbol) -> str:
        return f"{symbol.name}_out"

    tex = False
    out_label = "n_out"
    opening, closing = "(", ")"
    times = " x "
    dot = "*"
    width = 72

    def __init__(self, stats: ModelStats):
        self.stats = stats
        self._plain, self._values = _Text(), _Text(dict(stats.values))

    def __call__(self, expr) -> str:
        expr = _expr(expr)
        value = fmt.as_int(expr)
        return fmt.number(value) if value is not None else self._plain.doprint(expr)

    @staticmethod
    def number(value: int) -> str:
        return fmt.number(value)

    def term(self, expr) -> str:
        """A term of a sum: a number without separators, which would read as commas
        in a formula (the results keep theirs)."""
        value = fmt.as_int(expr)
        return str(value) if value is not None else self(expr)

    def with_values(self, expr) -> str:
        return self._values.doprint(_expr(expr))

    @staticmethod
    def text(words: str) -> str:
        return words

    def factor(self, expr) -> str:
        text = self(expr)
        return f"({text})" if isinstance(_expr(expr), sympy.Add) else text

    def batch_shape(self, dims) -> str:
        return "(" + ", ".join(["None"] + [self.dim(d) for d in dims]) + ")"

    def _times(self, multiplier, step: Step) -> Step:
        inner = self.join(step)
        factor = self.bracketed(multiplier, self(multiplier))
        return (f"{factor}*({inner})" if len(step) > 1 else f"{factor}*{inner}",)

    def _valued_times(self, multiplier, per_copy) -> Step:
        inner = self._valued_terms(per_copy)
        body = self.join(inner)
        factor = self.bracketed(multiplier, self.with_values(multiplier))
        return (f"{factor}*({body})" if len(inner) > 1 else f"{factor}*{body}",)

    line = 78

    @staticmethod
    def width_of(text: str) -> int:
        return len(text)

    def align(self, label: str, steps: list, width: Optional[int] = None) -> str:
        """``label = a`` then ``= b`` rows under it, long sums wrapped between terms."""
        width = width or self.width
        pad = " " * len(label)
        rows = []
        for step in steps:
            line = ""
            for i, term in enumerate(step):
                piece = term if i == 0 else (f"- {term[1:].lstrip()}" if term.startswith("-")
                                             else f"+ {term}")
                if line and len(line) + len(piece) + 1 > width:
                    rows.append(line)
                    line = "    " + piece
                else:
                    line = (line + " " + piece) if line else "= " + piece
            rows.append(line or "= 0")
        return "\n".join((label if i == 0 else pad) + " " + row for i, row in enumerate(rows))
