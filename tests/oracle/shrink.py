"""Shrink a failing model's source to the smallest one that still fails.

Works on the text: it tries removing each line together with the lines indented
under it (a layer, a whole ``residual:``, a ``branch:``, a block, ...), keeps any
removal after which the model still analyzes and still fails, and repeats until no
single removal does. Unused model parameters are dropped at the end.

>>> src = "model m():\\n    input [4]\\n    dense 3\\n    relu\\n    dense 2\\n"
>>> print(shrink(src, lambda s: "input" in s and "dense 2" in s), end="")
model m():
    input [4]
    dense 2
"""
from __future__ import annotations

import re
from typing import Callable


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _group_end(lines: list[str], i: int) -> int:
    j = i + 1
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > _indent(lines[i])):
        j += 1
    return j


def _without(lines: list[str], i: int) -> list[str]:
    """``lines`` without line i and the lines indented under it (and a ``residual:``
    without its ``shortcut:``, which cannot stand alone)."""
    j = _group_end(lines, i)
    if j < len(lines) and lines[j].strip() == "shortcut:" and \
            _indent(lines[j]) == _indent(lines[i]) and lines[i].strip() == "residual:":
        j = _group_end(lines, j)
    return lines[:i] + lines[j:]


def _unused_params(text: str) -> str:
    """Drop ``name = value`` parameters of the model header that nothing uses."""
    lines = text.split("\n")
    for k, line in enumerate(lines):
        m = re.match(r"model (\w+)\((.*)\):$", line)
        if not m:
            continue
        rest = "\n".join(lines[:k] + lines[k + 1:])
        keep = [p for p in m.group(2).split(", ") if p and
                re.search(rf"\b{re.escape(p.split('=')[0].strip())}\b", rest)]
        lines[k] = f"model {m.group(1)}({', '.join(keep)}):"
    return "\n".join(lines)


def shrink(source: str, fails: Callable[[str], bool], max_tries: int = 400) -> str:
    """The smallest variant of ``source`` (by removing lines) for which ``fails``
    still returns True. ``fails`` must return False for text that does not analyze."""
    lines = source.rstrip("\n").split("\n")
    tries, changed = 0, True
    while changed and tries < max_tries:
        changed = False
        for i in range(len(lines) - 1, -1, -1):
            if i >= len(lines) or not lines[i].strip() or lines[i].startswith(
                    ("model ", "convention ")):
                continue
            candidate = _without(lines, i)
            tries += 1
            if fails("\n".join(candidate) + "\n"):
                lines, changed = candidate, True
            if tries >= max_tries:
                break
    text = "\n".join(lines) + "\n"
    smaller = _unused_params(text)
    return smaller if smaller != text and fails(smaller) else text
