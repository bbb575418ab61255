"""Derivation documents (Markdown, LaTeX) from the Jinja2 templates in ``templates/``.

Python prepares the facts (per layer: weights, shapes, counts as sympy expressions);
the templates only lay them out. LaTeX templates use LaTeX-friendly delimiters,
``\\VAR{...}`` and ``\\BLOCK{...}``, so braces and ``%`` stay plain TeX. Prose is
escaped with the ``tex`` filter; math comes from ``sympy.latex`` and is never escaped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jinja2
import sympy
from sympy.core.alphabets import greeks

from ..errors import UsageError
from ..layers.base import NON_TRAINABLE, TRAINABLE
from ..resources import resource_dir
from ..stats import LayerStats, ModelStats, structured
from . import fmt

PARAMETER_ROLES = (TRAINABLE, NON_TRAINABLE)
FORMATS = {"markdown": "derive.md.j2", "latex": "derive.tex.j2"}
Step = tuple  # one side of an equation, as the LaTeX of its terms
_WORD = re.compile(r"([A-Za-z]{2,})(\d*)$")


def symbol_names(symbols) -> dict:
    """LaTeX names for multi-letter symbols: ``classes`` as ``\\mathit{classes}``
    (one word, not a product of seven letters), ``d_model`` as ``d_{\\mathrm{model}}``;
    Greek names stay Greek."""
    out = {}
    for s in symbols:
        base, _, sub = s.name.partition("_")
        m = _WORD.match(base)
        if m and m.group(1).lower() not in greeks:
            out[s] = r"\mathit{%s}" % m.group(1) + (f"_{{{m.group(2)}}}" if m.group(2) else "")
        if sub and len(sub) > 1 and "_" not in sub:  # d_model: d with the word model below
            out[s] = out.get(s, sympy.latex(sympy.Symbol(base))) + r"_{\mathrm{%s}}" % sub
    return out


@dataclass(frozen=True)
class WeightFacts:
    name: str
    shape: tuple
    role: str
    size: sympy.Expr
    why: str
    shared_with: str = ""

    @property
    def role_text(self) -> str:
        """``non-trainable``, or ``shared with dec/kernel`` (prose: escape it)."""
        text = self.role.replace("_", "-")
        return f"{text} with {self.shared_with}" if self.shared_with else text


@dataclass(frozen=True)
class LayerFacts:
    """What a derivation says about one layer with weights."""

    layer: LayerStats
    weights: tuple[WeightFacts, ...]
    terms: tuple[sympy.Expr, ...]   # the size of each parameter (not buffer) weight
    per_copy: sympy.Expr            # structured count of one copy
    multiplier: sympy.Expr

    @property
    def params(self) -> sympy.Expr:
        return self.layer.params

    @property
    def notes(self) -> list[tuple[list[str], str]]:
        """Why weights have their role, the weights that share a reason together:
        ``[(["moving_mean", "moving_variance"], "a running average ...")]``."""
        out: dict[str, list[str]] = {}
        for w in self.weights:
            if w.why:
                out.setdefault(w.why, []).append(w.name)
        return [(names, why) for why, names in out.items()]


def layer_facts(layer: LayerStats) -> LayerFacts:
    """The facts of one layer; ``terms`` are its parameters' sizes (buffers and weights
    shared with another layer are not counted here)."""
    weights = tuple(WeightFacts(w.name, tuple(w.shape), w.role, w.size, w.why,
                                getattr(w, "shared_with", ""))
                    for w in layer.weights)
    terms = tuple(w.size for w in weights if w.role in PARAMETER_ROLES)
    return LayerFacts(layer, weights, terms, structured(list(terms)), layer.multiplier)


class _Math:
    """The ``latex`` filter bound to one model's symbol names."""

    def __init__(self, stats: ModelStats):
        self.names = symbol_names(stats.symbols)

    def __call__(self, expr) -> str:
        return sympy.latex(sympy.sympify(expr), symbol_names=self.names)

    def shape(self, dims) -> str:
        return r" \times ".join(self(d) for d in dims) if dims else "1"

    def batch_shape(self, dims, breakable: bool = False) -> str:
        comma = r", \allowbreak " if breakable else ", "  # LaTeX may break a long shape
        return r"(\mathrm{None}" + "".join(comma + self(d) for d in dims) + ")"

    def shape_at(self, dims, stats: ModelStats, breakable: bool = False) -> str:
        """A shape in symbols, then with the values put in when that differs."""
        steps = [self.batch_shape(dims, breakable)]
        if stats.values:
            steps.append(self.batch_shape(stats.shape_at(dims), breakable))
        return " = ".join(_distinct(steps))

    @staticmethod
    def text(words: str) -> str:
        """Words inside math: ``\\text{Total params}``."""
        return r"\text{%s}" % fmt.tex_escape(words)

    def terms(self, expr) -> Step:
        """The terms of a sum, in the order sympy prints them."""
        expr = sympy.sympify(expr)
        if expr.is_Integer:
            return (fmt.tex_number(int(expr)),)
        if isinstance(expr, sympy.Add):
            return tuple(self(t) for t in expr.as_ordered_terms())
        return (self(expr),)

    @staticmethod
    def join(step: Step) -> str:
        out = step[0] if step else "0"
        for term in step[1:]:
            out += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
        return out

    def inline(self, steps: list[Step]) -> str:
        """``a = b = c`` on one line (Markdown's display math scrolls)."""
        return " = ".join(self.join(step) for step in steps)

    @staticmethod
    def align(label: str, steps: list[Step], width: int = 50) -> str:
        """Rows of an ``align*``: ``label &= a \\\\ &= b``, a long sum broken over
        several rows (``&\\quad + ...``) so it stays inside the page."""
        rows = []
        for step in steps:
            line, used = "", 0
            for i, term in enumerate(step):
                piece = term if i == 0 else (f"- {term[1:]}" if term.startswith("-")
                                             else f"+ {term}")
                size = _visible(piece)
                if line and used + size > width:
                    rows.append(line)
                    line, used = r"&\quad " + piece, size
                else:
                    line = (line + " " + piece) if line else "&= " + piece
                    used += size
            rows.append(line or "&= 0")
        rows[0] = f"{label} {rows[0]}"
        return " \\\\\n  ".join(rows)

    def quantity(self, expr) -> str:
        value = fmt.as_int(expr)
        return fmt.tex_number(value) if value is not None else self(expr)

    def value_step(self, expr) -> Step:
        """A count with the values put in: a number, or what is left of the sum."""
        value = fmt.as_int(expr)
        return (fmt.tex_number(value),) if value is not None else self.terms(expr)

    def layer_chain(self, f: LayerFacts, stats: ModelStats) -> list[Step]:
        """The steps of one layer's count: the weights' sizes added, the factored
        form, then the number (or the formula with the known values put in)."""
        added: Step = tuple(self(t) for t in f.terms) or ("0",)
        factored = self.terms(f.per_copy)
        if f.multiplier != 1:
            mult = self(f.multiplier) + r" \cdot "
            added = (mult + (rf"\left({self.join(added)}\right)" if len(added) > 1
                             else added[0]),)
            factored = (mult + (rf"\left({self.join(factored)}\right)" if len(factored) > 1
                                else factored[0]),)
        steps = [added, factored]
        if stats.values:
            steps.append(self.value_step(stats.at(f.params)))
        return _distinct(steps)

    def total_chain(self, expr, attr: str, stats: ModelStats) -> list[Step]:
        """A total: its formula, the layers' numbers added, the number."""
        steps = [self.terms(expr)]
        parts = [stats.at(getattr(layer, attr)) for layer in stats.layers]
        parts = [p for p in parts if p != 0]
        if stats.values and len(parts) > 1:
            steps.append(tuple(self.quantity(p) for p in parts))
        if stats.values:
            steps.append(self.value_step(stats.at(expr)))
        return _distinct(steps)


def _visible(tex: str) -> int:
    """Roughly how wide a piece of LaTeX prints, in characters."""
    tex = re.sub(r"\\(left|right|cdot|allowbreak|quad)\b", " ", tex)
    tex = re.sub(r"\\(mathit|mathrm|text|frac)\b", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    return len(re.sub(r"[{}\s]", "", tex)) + tex.count(" ") // 2


def _distinct(steps: list) -> list:
    out: list = []
    for step in steps:
        if not out or out[-1] != step:
            out.append(step)
    return out


def _environment(latex: bool) -> jinja2.Environment:
    options = dict(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
                   undefined=jinja2.StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    if latex:
        options.update(block_start_string=r"\BLOCK{", block_end_string="}",
                       variable_start_string=r"\VAR{", variable_end_string="}",
                       comment_start_string=r"\#{", comment_end_string="}",
                       line_statement_prefix="%%", line_comment_prefix="%#")
    env = jinja2.Environment(**options)
    env.filters.update(tex=fmt.tex_escape, md=fmt.md_code, num=fmt.number,
                       formula=fmt.formula)
    return env


@lru_cache(maxsize=None)
def _template(fmt_name: str) -> jinja2.Template:
    return _environment(fmt_name == "latex").get_template(FORMATS[fmt_name])


def derivation(stats: ModelStats, fmt_name: str = "markdown") -> str:
    """The derivation document of an analyzed model, as Markdown or LaTeX.

    >>> from symparam import analyze
    >>> doc = derivation(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))
    >>> "2 n + 2" in doc and "= 10" in doc
    True
    """
    if fmt_name not in FORMATS:
        raise UsageError(f"unknown format '{fmt_name}': use {' or '.join(FORMATS)}")
    math = _Math(stats)
    layers = [layer_facts(layer) for layer in stats.layers if layer.weights]
    totals = [("Total params", "params", stats.total),
              ("Trainable params", "trainable", stats.trainable),
              ("Non-trainable params", "non_trainable", stats.non_trainable)]
    if stats.convention == "torch" or stats.buffers != 0:
        totals.append(("Buffers", "buffers", stats.buffers))
    return _template(fmt_name).render(
        stats=stats, layers=layers, totals=totals, math=math,
        values=[(s, stats.values[s]) for s in stats.symbols if s in stats.values],
        unset=[s for s in stats.symbols if s not in stats.values],
        at=stats.at)
