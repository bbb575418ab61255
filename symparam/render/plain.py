"""LaTeX math as plain text for a terminal: Greek letters and operators as Unicode,
fractions and roots spelt out (``\\frac{a}{b}`` as ``a/b``), markup dropped. Used by
the layer cards' text format (:mod:`symparam.render.cards`).

May import: the standard library only.
"""
from __future__ import annotations

import re

_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
          "varepsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ",
          "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ", "omega": "ω", "Sigma": "Σ",
          "cdot": "·", "odot": "⊙", "times": "×", "top": "ᵀ", "sum": "Σ", "prod": "Π",
          "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "in": "∈",
          "le": "≤", "ge": "≥", "ldots": "…", "dots": "…", "to": "→", "infty": "∞",
          "oplus": "⊕", "circ": "∘", "quad": "  ", "qquad": "  ", "mid": "|", "Phi": "Φ",
          "Gamma": "Γ", "Delta": "Δ", "Lambda": "Λ", "Omega": "Ω", "pi": "π", "rho": "ρ",
          "kappa": "κ", "nu": "ν", "xi": "ξ", "chi": "χ", "zeta": "ζ", "neq": "≠",
          "leftarrow": "←", "mapsto": "↦", "approx": "≈", "sim": "~"}
_SIMPLE = re.compile(r"^[\w.]+$")


def _group(tex: str, start: int) -> tuple[str, int]:
    """The brace group starting at ``start`` (after optional spaces): its inside and
    the index after it."""
    i = start
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i < len(tex) and tex[i] == "\\":  # one command: ^\top
        m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
        assert m is not None  # a backslash starts a command
        return m.group(0), i + len(m.group(0))
    if i >= len(tex) or tex[i] != "{":
        return (tex[i:i + 1], i + 1)
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1:j], j + 1
    return tex[i + 1:], len(tex)


def _wrap(text: str) -> str:
    """Parentheses around a numerator or denominator unless it is one term."""
    if _SIMPLE.match(text):
        return text
    call = re.match(r"^\w+\((.*)\)$", text)
    if call and _balanced(call.group(1)):
        return text
    return f"({text})"


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def plain(tex: str) -> str:
    """LaTeX math as plain text for a terminal.

    >>> plain(r"y = \\gamma \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + \\beta")
    'y = γ (x - μ)/sqrt(σ^2 + ε) + β'
    """
    out, i = [], 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            assert m is not None  # a backslash starts a command
            cmd, i = m.group(1), i + len(m.group(0))
            if cmd == "frac":
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                out.append(f"{_wrap(plain(num))}/{_wrap(plain(den))}")
            elif cmd == "sqrt":
                arg, i = _group(tex, i)
                out.append(f"sqrt({plain(arg)})")
            elif cmd in ("mathrm", "operatorname", "text", "mathit", "mathbf", "textrm",
                         "mathcal", "mathrel", "boldsymbol"):
                arg, i = _group(tex, i)
                out.append(plain(arg))
            elif cmd in ("left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr"):
                continue
            elif cmd in ("begin", "end"):
                _, i = _group(tex, i)  # the environment's name
            elif cmd == "overline":  # a mean, in the equations here
                arg, i = _group(tex, i)
                out.append(f"mean({plain(arg)})")
            elif cmd in ("hat", "bar", "tilde"):
                arg, i = _group(tex, i)
                mark = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}[cmd]
                out.append(plain(arg) + mark)
            elif cmd in (",", ";", " ", ":", "!"):
                out.append("" if cmd == "!" else " ")
            elif cmd in ("{", "}", "_", "%", "#", "&"):
                out.append(cmd)
            elif cmd == "\\":
                out.append(";")
            else:
                out.append(_GREEK.get(cmd, cmd))
        elif c in "_^":
            arg, i = _group(tex, i + 1)
            text = plain(arg)
            if text == "ᵀ":
                out.append(text)
                continue
            out.append(c + (text if len(text) == 1 or _SIMPLE.match(text) else f"({text})")
                       if c == "^" or len(text) > 0 else "")
        elif c in "{}":
            i += 1
        elif c == "&":
            i += 1
        else:
            out.append(c)
            i += 1
    text = "".join(out)
    return re.sub(r" {2,}", " ", text).strip()
