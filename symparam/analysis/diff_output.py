"""The output of ``symparam diff``: text, Markdown, LaTeX and JSON built from a
:class:`symparam.analysis.diff.DiffResult`. Functions return strings; the CLI prints.

Differences are written as a person writes them, the sign pulled out of the textbook
form: ``-h(n + 1)``, not ``h*(-n - 1)`` (text and Markdown drop the ``*`` before a
parenthesis; JSON keeps the formulas sympy reads back beside the readable form).

May import: sympy, :mod:`symparam.compare`, :mod:`symparam.render` (fmt, symbols, text).
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Optional

import sympy

from ..compare import ROLES, Difference, difference
from ..render.data import SCHEMA_VERSION, symbol_values
from ..render.fmt import formula, md_code, md_escape, number, quantity, tex_escape, tex_number
from ..render.symbols import symbol_names
from ..render.text import table

FORMATS = ("text", "markdown", "latex", "json")
ROLE_LABEL = {"params": "params", "trainable": "trainable", "non_trainable": "non-trainable",
              "buffers": "buffers"}
SHOWN_ROLES = ("params", "non_trainable", "buffers")  # the table's Δ columns
STATUS_TEXT = {"added": "added (B only)", "removed": "removed (A only)", "same": "same"}
# `*` between a name, a closing parenthesis or a leading number and an opening
# parenthesis: h*(n + 1) -> h(n + 1), 8*(n + 1) -> 8(n + 1); an exponent keeps it
# (d**2*(n + 1)), and so does a number inside a product or a name (L*8*(n + 1), h2).
_IMPLICIT = re.compile(r"(?<=[A-Za-z_)])\*(?=\()|(?<![\w.*])(?P<num>\d+)\*(?=\()")


def _implicit(text: str) -> str:
    return _IMPLICIT.sub(lambda m: m.group("num") or "", text)


def readable(d: Difference) -> str:
    """A difference as text: ``-h(n + 1)``, ``3(d + 1)``, ``-64``.

    >>> from symparam.values import symbol
    >>> h, n = symbol("h"), symbol("n")
    >>> readable(difference(-h * n - h)), readable(difference(h ** 2 * (n + 1)))
    ('-h(n + 1)', 'h**2*(n + 1)')
    >>> readable(difference(-2 * h - 1)), readable(difference(-8 * n - 8))
    ('-2*h - 1', '-8(n + 1)')
    """
    if d.expanded.is_Integer:
        return number(d.expanded)
    if d.sign < 0 and not d.magnitude.is_Add:  # a sum keeps its own signs: -2*h - 1
        return "-" + _implicit(formula(d.magnitude))
    return _implicit(formula(d.structured))


def _with_value(d: Difference) -> str:
    text = readable(d)
    if d.expanded.is_Integer or d.value is None:
        return text
    return f"{text} = {number(d.value)}"


def change_text(ld) -> str:
    """``added (B only)``, ``removed (A only)``, ``changed: count, units``, ``same``."""
    if ld.status != "changed":
        return STATUS_TEXT[ld.status]
    words = ["count"] if any(c in ROLES for c in ld.changes) else []
    words += [c.removeprefix("argument ") for c in ld.changes if c not in ROLES]
    return "changed: " + ", ".join(words)


def _name(ld) -> str:
    mult = (ld.a or ld.b).multiplier
    return ld.name + (f" (×{formula(mult)})" if mult != 1 else "")


def _side_value(v) -> str:
    return "has no value" if v is None else f"= {int(v):,}"


def _shown(d, show_all: bool) -> list:
    return [ld for ld in d.layers if show_all or ld.changed]


def _side_params(ld, side: str, rename: dict) -> Optional[sympy.Expr]:
    layer = ld.a if side == "a" else ld.b
    return None if layer is None else layer.params.xreplace(rename)


def _renames(d) -> tuple[dict, dict]:
    return ({s: names[0] for s, names in d.renamed.items()},
            {s: names[1] for s, names in d.renamed.items()})


def _by_kind(d) -> list:
    """(kind, role, Difference) with the values of the difference put in."""
    return [(kind, role, dataclasses.replace(difference(e, parts=(e,)), value=v))
            for kind, role, e, v in d.by_kind]


def diff_text(d, label_a: str, label_b: str, show_all: bool = False) -> str:
    lines = [f"A = {label_a}", f"B = {label_b}", ""]
    if d.split:
        lines.append("each side at its own values; these differ, and are two symbols below:")
        for s, va, vb in d.split:
            sa, sb = d.renamed[s]
            lines.append(f"  {s}: A {_side_value(va)}, B {_side_value(vb)}  "
                         f"(written {sa} and {sb})")
        lines.append("")
    rename_a, rename_b = _renames(d)
    rows = []
    for ld in _shown(d, show_all):
        pa, pb = _side_params(ld, "a", rename_a), _side_params(ld, "b", rename_b)
        rows.append([_name(ld), ld.kind, change_text(ld),
                     "(none)" if pa is None else quantity(pa),
                     "(none)" if pb is None else quantity(pb),
                     *(_with_value(ld.differences[r]) for r in SHOWN_ROLES)])
    if rows:
        lines += table(["layer", "kind", "change", "A params", "B params", "Δ params",
                        "Δ non-trainable", "Δ buffers"], rows)
    else:
        lines.append(" no layer differs")
    lines += ["", "A − B in total:"]
    for role in ROLES:
        t = d.differences[role]
        lines.append(f"  {ROLE_LABEL[role]:<14} {_with_value(t)}")
        if t.structured != t.expanded:
            lines.append(f"  {'':<14} expanded: {formula(t.expanded)}")
    if d.by_kind:
        lines += ["", "by layer kind:"]
        for kind, role, e in _by_kind(d):
            lines.append(f"  {kind} {ROLE_LABEL[role]}: {_with_value(e)}")
    return "\n".join(lines)


# ---- Markdown and LaTeX: the same content, with math ------------------------------------

def _tex(d, expr) -> str:
    names = symbol_names(sorted(as_symbols(d), key=lambda s: s.name))
    return sympy.latex(expr, symbol_names=names)


def as_symbols(d) -> set:
    out = set(d.a.symbols) | set(d.b.symbols)
    for sa, sb in d.renamed.values():
        out |= {sa, sb}
    return out


def _tex_difference(d, diff: Difference, value: Optional[int]) -> str:
    if diff.expanded.is_Integer:
        return tex_number(int(diff.expanded))
    body = (("-" + _tex(d, diff.magnitude)) if diff.sign < 0 and not diff.magnitude.is_Add
            else _tex(d, diff.structured))
    return body + (f" = {tex_number(value)}" if value is not None else "")


def _tex_count(d, expr) -> str:
    return tex_number(int(expr)) if expr.is_Integer else _tex(d, expr)


def _math_rows(d, show_all: bool) -> list[tuple]:
    """(name, kind, change, A params, B params, Δs) with LaTeX math (None: no layer)."""
    rename_a, rename_b = _renames(d)
    out = []
    for ld in _shown(d, show_all):
        pa, pb = _side_params(ld, "a", rename_a), _side_params(ld, "b", rename_b)
        out.append((_name(ld), ld.kind, change_text(ld),
                    None if pa is None else _tex_count(d, pa),
                    None if pb is None else _tex_count(d, pb),
                    [_tex_difference(d, ld.differences[r], ld.values[r])
                     for r in SHOWN_ROLES]))
    return out


def diff_markdown(d, label_a: str, label_b: str, show_all: bool = False) -> str:
    def m(tex: str) -> str:  # GitHub's inline math; a | would end the table cell
        return f"$`{tex}`$".replace("|", "\\vert ")
    lines = [f"A = {md_code(label_a)}  ", f"B = {md_code(label_b)}", ""]
    for s, va, vb in d.split:
        sa, sb = d.renamed[s]
        lines.append(f"- {md_code(s)}: A {_side_value(va)}, B {_side_value(vb)} "
                     f"(written {m(_tex(d, sa))} and {m(_tex(d, sb))})")
    if d.split:
        lines.append("")
    rows = _math_rows(d, show_all)
    if rows:
        lines += ["| Layer | Kind | Change | A params | B params | Δ params | "
                  "Δ non-trainable | Δ buffers |", "|" + " --- |" * 8]
        for name, kind, change, pa, pb, deltas in rows:
            cells = [md_code(name), md_escape(kind), md_escape(change),
                     "(none)" if pa is None else m(pa), "(none)" if pb is None else m(pb),
                     *(m(x) for x in deltas)]
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines.append("No layer differs.")
    lines += ["", "| A − B in total | |", "| --- | --- |"]
    for role in ROLES:
        lines.append(f"| {ROLE_LABEL[role]} | "
                     f"{m(_tex_difference(d, d.differences[role], d.values[role]))} |")
    return "\n".join(lines) + "\n"


def diff_latex(d, label_a: str, label_b: str, show_all: bool = False) -> str:
    """A LaTeX snippet: the labels, a tabular of the layers, the totals (needs no
    package beyond amsmath)."""
    lines = [f"A = \\texttt{{{tex_escape(label_a)}}}\\\\",
             f"B = \\texttt{{{tex_escape(label_b)}}}", ""]
    for s, va, vb in d.split:
        sa, sb = d.renamed[s]
        lines.append(f"${_tex(d, s)}$: A {tex_escape(_side_value(va))}, B "
                     f"{tex_escape(_side_value(vb))} (written ${_tex(d, sa)}$ and "
                     f"${_tex(d, sb)}$)\\\\")
    rows = _math_rows(d, show_all)
    if rows:
        lines += ["", "\\begin{tabular}{llllllll}",
                  "Layer & Kind & Change & A params & B params & $\\Delta$ params & "
                  "$\\Delta$ non-trainable & $\\Delta$ buffers \\\\ \\hline"]
        for name, kind, change, pa, pb, deltas in rows:
            name = tex_escape(name).replace("×", "$\\times$")  # pdflatex has no ×
            cells = [f"\\texttt{{{name}}}", tex_escape(kind), tex_escape(change),
                     "(none)" if pa is None else f"${pa}$",
                     "(none)" if pb is None else f"${pb}$", *(f"${x}$" for x in deltas)]
            lines.append(" & ".join(cells) + " \\\\")
        lines.append("\\end{tabular}")
    else:
        lines += ["", "No layer differs."]
    lines += ["", "\\begin{align*}"]
    for i, role in enumerate(ROLES):
        end = " \\\\" if i < len(ROLES) - 1 else ""
        lines.append(f"\\text{{{ROLE_LABEL[role]}}}_A - \\text{{{ROLE_LABEL[role]}}}_B &= "
                     f"{_tex_difference(d, d.differences[role], d.values[role])}{end}")
    lines.append("\\end{align*}")
    return "\n".join(lines) + "\n"


# ---- JSON ---------------------------------------------------------------------------------

def _json_difference(diff: Difference) -> dict:
    return {"readable": readable(diff), "structured": formula(diff.structured),
            "expanded": formula(diff.expanded), "value": diff.value}


def _json_layer(layer, rename: dict) -> Optional[dict]:
    if layer is None:
        return None
    return {"name": layer.name, "kind": layer.kind, "type": layer.type, "line": layer.line,
            "path": list(layer.path), "multiplier": formula(layer.multiplier),
            "params": formula(layer.params.xreplace(rename))}


def diff_json(d, label_a: str, label_b: str, show_all: bool = False) -> str:
    rename_a, rename_b = _renames(d)
    def side(stats, label: str) -> dict:
        return {"label": label, "model": stats.name, "convention": stats.convention,
                "symbols": symbol_values(stats)}
    out = {
        "schema": SCHEMA_VERSION, "command": "diff",  # the head of every --json document
        "a": side(d.a, label_a),
        "b": side(d.b, label_b),
        "split": [{"symbol": s.name, "a": None if va is None else int(va),
                   "b": None if vb is None else int(vb),
                   "written": [d.renamed[s][0].name, d.renamed[s][1].name]}
                  for s, va, vb in d.split],
        "layers": [{"status": ld.status, "changes": list(ld.changes),
                    "a": _json_layer(ld.a, rename_a), "b": _json_layer(ld.b, rename_b),
                    "delta": {r: _json_difference(ld.differences[r]) for r in ROLES}}
                   for ld in _shown(d, show_all)],
        "total": {r: _json_difference(d.differences[r]) for r in ROLES},
        "by_kind": [{"kind": kind, "role": role, "difference": _json_difference(e)}
                    for kind, role, e in _by_kind(d)],
    }
    return json.dumps(out, indent=2)


def diff_output(d, label_a: str, label_b: str, fmt: str = "text",
                show_all: bool = False) -> str:
    """``symparam diff``'s output in one of :data:`FORMATS`."""
    return {"text": diff_text, "markdown": diff_markdown, "latex": diff_latex,
            "json": diff_json}[fmt](d, label_a, label_b, show_all)
