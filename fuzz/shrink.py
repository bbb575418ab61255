"""Shrinking a finding to a small reproduction: delete runs of lines, then single
tokens, while the input keeps its class and its signature (the same bug, not any
bug of the class). A hang keeps its class only: where it is interrupted varies.

For a marked mutation the line holding the mark is never touched and the expected
line follows the lines deleted above it, so the line check stays sound.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from . import classify as C
from .cases import Case
from .target import Result

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9.]+|\S")


def _same(result: Result, want: Result) -> bool:
    if result.cls != want.cls:
        return False
    return want.cls == C.HANG or result.signature == want.signature


def _line_candidates(case: Case):
    lines = case.text.split("\n")
    size = max(1, len(lines) // 2)
    while size >= 1:
        for start in range(0, len(lines), size):
            end = min(start + size, len(lines))
            k = case.expect_line
            if k and start <= k - 1 < end:
                continue
            new_k = k - (end - start) if k and end <= k - 1 else k
            text = "\n".join(lines[:start] + lines[end:])
            if text != case.text:
                yield replace(case, text=text, expect_line=new_k)
        size //= 2


def _token_candidates(case: Case):
    """Runs of tokens deleted, halves first, then down to single tokens (none on the
    marked line)."""
    mark = case.expect_line
    tokens = [m for m in _TOKEN.finditer(case.text)
              if not mark or case.text.count("\n", 0, m.start()) + 1 != mark]
    size = max(1, len(tokens) // 2)
    while size >= 1:
        for start in range(len(tokens) - size, -1, -size):
            run = tokens[start:start + size]
            if any(case.text.count("\n", a.end(), b.start()) for a, b in zip(run, run[1:])):
                continue  # a run stays on one line, so lines keep their numbers
            text = case.text[:run[0].start()] + case.text[run[-1].end():]
            yield replace(case, text=text)
        size //= 2


def shrink(case: Case, want: Result, check: Callable[[Case], Result], budget: int = 150) -> Case:
    """The smallest variant of ``case`` found within ``budget`` runs of ``check``."""
    tries = 0
    for candidates in (_line_candidates, _token_candidates):
        progress = True
        while progress and tries < budget:
            progress = False
            for candidate in candidates(case):
                if tries >= budget:
                    break
                tries += 1
                if _same(check(candidate), want):
                    case, progress = candidate, True
                    break
    return case
