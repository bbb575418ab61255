"""How a symbol prints in LaTeX, the way a paper writes it.

``d_model`` is d with the word "model" below in upright type, ``alpha`` is the Greek
letter, ``classes`` one italic word (not the product of seven letters), ``k_h`` k with
an italic index h. A model can say it explicitly in its header,
``model gpt(d_model = 768 "d_{\\mathrm{model}}")``; that always wins.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional

import sympy
from sympy.core.alphabets import greeks

_GREEK = set(greeks) | {"lamda"}
_WORD = re.compile(r"([A-Za-z]+?)(\d*)$")


def _greek(word: str) -> Optional[str]:
    """``\\alpha`` for alpha, ``\\Gamma`` for Gamma; None for other words."""
    if word.lower() not in _GREEK:
        return None
    return sympy.latex(sympy.Symbol(word))


def _base(word: str) -> str:
    """The letter or word a symbol is written with, a trailing number as an index."""
    m = _WORD.match(word)
    if not m:  # digits only, or empty: leave it to sympy
        return sympy.latex(sympy.Symbol(word)) if word else ""
    letters, digits = m.groups()
    head = _greek(letters) or (letters if len(letters) == 1 else r"\mathit{%s}" % letters)
    return head + (f"_{{{digits}}}" if digits else "")


def _index(part: str) -> str:
    """One part of a subscript: a Greek letter, a letter or number (italic, an index),
    or a word (upright: a label, as in d_model)."""
    if part.isdigit() or len(part) == 1:
        return part
    return _greek(part) or r"\mathrm{%s}" % part


def symbol_latex(name: str, explicit: Optional[Mapping[str, str]] = None) -> str:
    """The LaTeX of the symbol ``name``.

    >>> print(symbol_latex("d_model"), symbol_latex("alpha"), symbol_latex("k_h"))
    d_{\\mathrm{model}} \\alpha k_{h}
    >>> print(symbol_latex("classes2"), symbol_latex("n", {"n": "N_{\\\\text{tok}}"}))
    \\mathit{classes}_{2} N_{\\text{tok}}
    """
    if explicit and name in explicit:
        return explicit[name]
    base, _, sub = name.partition("_")
    if not base:  # _x: nothing to hang an index on
        return sympy.latex(sympy.Symbol(name))
    head = _base(base)
    if not sub:
        return head
    index = ",".join(_index(p) for p in sub.split("_") if p)
    if "_" in head:  # rows2_in: the number and the label share one subscript
        head, _, first = head.partition("_")
        index = first[1:-1] + "," + index
    return f"{head}_{{{index}}}"


def symbol_names(symbols: Iterable[sympy.Symbol],
                 explicit: Optional[Mapping[str, str]] = None) -> dict:
    """``symbol_names`` for ``sympy.latex``: the symbols whose LaTeX differs from
    sympy's own way of writing them.

    >>> from symparam.values import symbol
    >>> symbol_names([symbol("d_model"), symbol("x_1")])
    {d_model: 'd_{\\\\mathrm{model}}'}
    """
    out = {}
    for s in symbols:
        tex = symbol_latex(s.name, explicit)
        if tex != sympy.latex(s):
            out[s] = tex
    return out
