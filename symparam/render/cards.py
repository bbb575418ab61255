"""Layer cards as text, Markdown or LaTeX (``symparam explain``), and the layer
reference, docs/layers.md (``symparam explain --reference``). The cards' data come
from :mod:`symparam.cards`; the templates ``templates/card.*`` lay them out, in the
same sandbox as every template.

May import: :mod:`symparam.cards` (the data), the rest of :mod:`symparam.render`.
"""
from __future__ import annotations

from typing import Optional

import sympy

from ..cards import Card, Evaluation, card, families
from ..errors import UsageError
from ..exprs import as_expr
from . import fmt
from .plain import plain
from .symbols import symbol_names


def number_text(value) -> str:
    """A float32 the shortest way that reads back to the same float32 (as NumPy
    prints it): ``0.9995004``.

    >>> import numpy as np
    >>> number_text(1 / np.sqrt(np.float32(1.001))), number_text(2.0)
    ('0.9995004', '2')
    """
    import numpy as np
    return np.format_float_positional(np.float32(value), trim="-")


def array_text(array) -> str:
    """``[[0, 0.9995004], [1.9990008, 2.9985013]]``."""
    if getattr(array, "ndim", 0) == 0:
        return number_text(array)
    return "[" + ", ".join(array_text(a) for a in array) + "]"


FORMATS = {"text": "card.txt.j2", "markdown": "card.md.j2", "latex": "card.tex.j2"}


def _math(c: Card):
    names = symbol_names(c.symbols)

    def latex(expr) -> str:
        return sympy.latex(as_expr(expr), symbol_names=names)

    def shape(dims) -> str:
        return r" \times ".join(latex(d) for d in dims) if dims else "1"

    def batch_shape(dims) -> str:
        return r"(\mathrm{None}" + "".join(", " + latex(d) for d in dims) + ")"

    # The templates call math(x), math.shape(dims) and math.batch_shape(dims).
    latex.shape, latex.batch_shape = shape, batch_shape  # type: ignore[attr-defined]
    return latex


def _environment(latex: bool):
    """The cards' templates run in the same sandbox as every template."""
    import jinja2

    from ..resources import resource_dir
    from .sandbox import environment
    return environment(latex, jinja2.FileSystemLoader(str(resource_dir("templates"))),
                       dict(tex=_tex_prose, md=fmt.md_code, plain=plain, formula=fmt.formula,
                            array=array_text, number=number_text))


_TEX_SYMBOLS = {"±": r"$\pm$", "×": r"$\times$"}


def _tex_prose(text) -> str:
    """Prose for LaTeX: special characters escaped, the few symbols cards use in
    words (± of an initial range, × of a shape) as math, so pdflatex needs no
    Unicode set-up.

    >>> print(_tex_prose("U(±1/sqrt(fan_in)) as n × u"))
    U($\\pm$1/\\allowbreak{}sqrt(fan\\_\\allowbreak{}in)) as n $\\times$ u
    """
    out = fmt.tex_escape(text)
    for char, tex in _TEX_SYMBOLS.items():
        out = out.replace(char, tex)
    # Long names and formulas in words may break after an underscore or a slash.
    return out.replace(r"\_", r"\_\allowbreak{}").replace("/", r"/\allowbreak{}")


_ENVS: dict = {}


def _render(name: str, ctx: dict) -> str:
    from .sandbox import render
    latex = name.endswith(".tex.j2")
    if latex not in _ENVS:
        _ENVS[latex] = _environment(latex)
    return render(_ENVS[latex].get_template(name), ctx, f"template {name}")


def render(c: Card, fmt_name: str = "text", convention: Optional[str] = None,
           evaluation: Optional[Evaluation] = None) -> str:
    """A card as text, Markdown (GitHub flavour) or a LaTeX snippet. ``convention``
    puts that framework first (both are always shown).

    >>> print(render(card("dense")).splitlines()[0])
    dense (alias linear): Keras Dense, PyTorch Linear
    """
    if fmt_name not in FORMATS:
        raise UsageError(f"unknown format '{fmt_name}': use {', '.join(FORMATS)}")
    sides = c.sides if convention != "torch" else (c.torch, c.keras)
    return _render(FORMATS[fmt_name], dict(card=c, sides=sides, math=_math(c),
                                           evaluation=evaluation, heading=True))


def reference() -> str:
    """``docs/layers.md``: every layer kind's card, by family (its title)."""
    groups = [(fam.title, [card(k.names[0]) for k in members]) for fam, members in families()]
    return _render("card.index.md.j2", dict(groups=groups, math_for=_math))
