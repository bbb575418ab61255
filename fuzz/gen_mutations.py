"""Mutations of the shipped models: every ``docs/examples/*.symp``, every ``zoo/*.symp``
and every ``symparam`` block of the docs.

Two families:

- *marked*: one character that no token of the language may contain (a control
  character, a non-ASCII one, ``@``, a lone ``\\r``...) is put at a known line, outside
  strings and comments, of a valid model (and sometimes, in a comment above it, a
  character Python's ``splitlines`` takes for a line break, legal there). The model was valid up to there, so an error,
  if any, must be reported at that line or an earlier one: the case carries
  ``expect_line`` (see :mod:`fuzz.classify`).
- *free*: one to four byte and token mutations (delete, duplicate, swap or move lines;
  numbers made huge, zero, negative or fractional; odd characters; tokens deleted or
  inserted; indentation changed; deep nesting; other line ends; truncation; a layer
  kind changed; lines spliced from another model). No line is expected.
"""
from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

from .cases import SOURCE, Case

ROOT = Path(__file__).resolve().parent.parent

# Characters no token may contain (outside strings and comments).
ILLEGAL = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f)) + (
    "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u00a0", "\u3000", "é", "Д", "∑", "😀",
    "@", "$", "?", "!", "`", ";", "{", "}", "'", "&", "|", "^", "~", "<", ">")
# Where Python's str.splitlines breaks a line besides \n: legal in comments and strings.
# (A lone \r is a line end in symparam, as \n: not a character of a line, so not here.)
BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
ODD = ILLEGAL + ("\t", "\n", "\r\n", "\\", "#", '"', "(", ")", "[", "]", ",", ":", "=", "\x00" * 3)
NUMBERS = ("0", "-1", "-7", "0.5", "1e-9", "1e400", "10" * 40, "9" * 1001, "2 ** 2 ** 2 ** 2 ** 2",
           "(-1)", "1/0", "0 ** -1", "10 ** 10 ** 10", "2 ** 100000", "1" + "0" * 4299)
TOKENS = ("model", "block", "let", "input", "as", "from", "residual:", "shortcut:", "branches",
          "branch:", "repeat", "convention", "layout", "(", ")", "[", "]", ",", ":", "=", "**",
          "//", "-", "*", '"', "\\", "reuse", "tie = x", "true", "none", "x", "dense", "\n    ",
          "moe", "shared:", "top_k = 2")
_NUMBER = re.compile(r"(?<![A-Za-z_0-9.])[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9.]+|\*\*|//|\S")


@lru_cache(maxsize=1)
def corpus() -> tuple[str, ...]:
    """The shipped models and the docs' symparam blocks, as text (sorted: reproducible)."""
    texts = [p.read_text(encoding="utf-8") for p in
             sorted((ROOT / "docs" / "examples").glob("*.symp")) + sorted((ROOT / "zoo").glob("*.symp"))]
    for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        texts += re.findall(r"```symparam\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    return tuple(texts)


def code_spans(line: str) -> list[tuple[int, int]]:
    """Where in ``line`` a character may go and still be read as code: the ranges
    outside string literals, up to a comment (end exclusive)."""
    spans, start, i = [], 0, 0
    while i < len(line):
        c = line[i]
        if c == "#":
            break
        if c == '"':
            spans.append((start, i))
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            i = start = j + 1
            continue
        i += 1
    spans.append((start, min(i, len(line))))
    return [(a, b) for a, b in spans if a <= b]


def marked(rng: random.Random, text: str) -> tuple[str, int]:
    """``text`` with one illegal character at a known line: (mutated text, line)."""
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    line = lines[k]
    spans = code_spans(line)
    a, b = rng.choice(spans)
    col = rng.randint(a, b)
    char = rng.choice(ILLEGAL)
    # (A byte-order mark at the very start is skipped, as editors do: not a mark there.)
    lines[k] = line[:col] + char + line[col:]
    comments = [j for j in range(k) if len(code_spans(lines[j])[-1]) and
                code_spans(lines[j])[-1][1] < len(lines[j])]
    if comments and rng.random() < 0.4:  # a character Python breaks lines at, in a comment
        j = rng.choice(comments)
        at = code_spans(lines[j])[-1][1] + 1
        lines[j] = lines[j][:at] + rng.choice(BREAKS) + lines[j][at:]
    return "\n".join(lines), k + 1


def _lines(text: str) -> list[str]:
    return text.split("\n")


def mutate(rng: random.Random, text: str) -> tuple[str, str]:
    """One free mutation: (new text, what was done)."""
    lines = _lines(text)
    op = rng.randrange(16)
    k = rng.randrange(len(lines))
    if op == 0 and len(lines) > 1:
        del lines[k]
        return "\n".join(lines), f"delete line {k + 1}"
    if op == 1:
        lines.insert(k, lines[k])
        return "\n".join(lines), f"duplicate line {k + 1}"
    if op == 2:
        j = rng.randrange(len(lines))
        lines[k], lines[j] = lines[j], lines[k]
        return "\n".join(lines), f"swap lines {k + 1} and {j + 1}"
    if op == 3:
        numbers = list(_NUMBER.finditer(text))
        if numbers:
            m = rng.choice(numbers)
            new = rng.choice(NUMBERS)
            return text[:m.start()] + new + text[m.end():], f"number {m.group()} -> {new[:20]}"
    if op == 4:
        pos = rng.randint(0, len(text))
        char = rng.choice(ODD) * rng.choice((1, 1, 1, 2, 100))
        return text[:pos] + char + text[pos:], f"insert {char[:4]!r} at {pos}"
    if op == 5 and text:
        pos = rng.randrange(len(text))
        return text[:pos] + rng.choice(ODD) + text[pos + 1:], f"replace character {pos}"
    if op == 6:
        tokens = list(_TOKEN.finditer(text))
        if tokens:
            m = rng.choice(tokens)
            return text[:m.start()] + text[m.end():], f"delete token {m.group()!r}"
    if op == 7:
        tokens = list(_TOKEN.finditer(text))
        if tokens:
            m = rng.choice(tokens)
            tok = rng.choice(TOKENS)
            return text[:m.start()] + tok + " " + text[m.start():], f"insert token {tok!r}"
    if op == 8:
        lines[k] = rng.choice((" ", "  ", "\t", "        ", "")) + lines[k].lstrip(
            " " if rng.random() < 0.5 else "")
        return "\n".join(lines), f"indentation of line {k + 1}"
    if op == 9:
        numbers = list(_NUMBER.finditer(text))
        if numbers:
            m = rng.choice(numbers)
            depth = rng.choice((50, 300, 1000, 5000))
            o, c = ("(", ")") if rng.random() < 0.6 else ("[", "]")
            return (text[:m.start()] + o * depth + m.group() + c * depth + text[m.end():],
                    f"nest {depth} deep")
    if op == 10:
        style = rng.choice(("\r\n", "\r", "\u2028", "\x0c\n", "\x0b", "\x85", "\n\n\n"))
        if rng.random() < 0.5:
            return text.replace("\n", style), f"every line end {style!r}"
        lines[k] = lines[k] + style
        return "\n".join(lines), f"line {k + 1} ends {style!r}"
    if op == 11 and text:
        pos = rng.randrange(len(text))
        return text[:pos], f"truncate at {pos}"
    if op == 12:
        from .gen_programs import _kinds
        words = list(re.finditer(r"^(\s*)([a-z_0-9]+)", text, re.M))
        if words:
            m = rng.choice(words)
            new = rng.choice(_kinds())[0] if rng.random() < 0.8 else m.group(2)[::-1]
            return text[:m.start(2)] + new + text[m.end(2):], f"kind {m.group(2)} -> {new}"
    if op == 13:
        other = _lines(rng.choice(corpus()))
        j = rng.randrange(len(other))
        piece = other[j:j + rng.randint(1, 6)]
        lines[k:k] = piece
        return "\n".join(lines), f"splice {len(piece)} lines at {k + 1}"
    if op == 14:
        m = re.search(r"repeat ([^:]+):", text)
        if m:
            new = rng.choice(("1000000000", "10001", "0", "-1", "2 ** 64", "n ** n", "0.5"))
            return text[:m.start(1)] + new + text[m.end(1):], f"repeat {new}"
    words = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text))
    if words:
        a, b = rng.choice(words), rng.choice(words)
        return text[:a.start()] + b.group() + text[a.end():], f"word {a.group()} -> {b.group()}"
    return text + "\n", "newline"


def mutation_case(rng: random.Random) -> Case:
    base = rng.choice(corpus())
    convention = rng.choice((None, None, "keras", "torch"))
    if rng.random() < 0.35:
        text, line = marked(rng, base)
        return Case("mutation.marked", SOURCE, text, convention=convention, expect_line=line,
                    note=f"illegal character at line {line}")
    notes = []
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        base, note = mutate(rng, base)
        notes.append(note)
    return Case("mutation.free", SOURCE, base, convention=convention, note="; ".join(notes))
