"""One root for every user-facing error.

Library code raises these; only the command line turns them into a message and an
exit code, so a user never sees a Python traceback for bad input.
"""
from __future__ import annotations

from .chars import showable, source_lines, width


# How much of a long line an error shows: a window of this many characters around the
# caret (a 100,000-character line stays readable), and how many enclosing blocks a
# message names before it counts the rest.
SHOWN_COLUMNS = 100
SHOWN_BLOCKS = 3


def window(line: str, column: int | None) -> tuple[str, str]:
    """The part of ``line`` to show under a message, and the caret line under it: the
    whole line if short, else SHOWN_COLUMNS characters around ``column`` with ``...``
    where it is cut. Columns count characters; tabs are expanded, and so is the caret.

    >>> text, caret = window("x" * 500 + "!" + "y" * 500, 501)
    >>> len(text) < 110, text[caret.index("^")]
    (True, '!')
    """
    raw, at = showable(line), max(column or 1, 1) - 1
    start, end = 0, len(raw)
    if len(raw) > SHOWN_COLUMNS:
        start = max(0, min(at - SHOWN_COLUMNS // 2, len(raw) - SHOWN_COLUMNS))
        end = start + SHOWN_COLUMNS
    head = "..." if start else ""
    text = head + raw[start:end] + ("..." if end < len(raw) else "")
    caret = " " * width((head + raw[start:at]).expandtabs(8)) + "^"
    return text.expandtabs(8), caret


def shortened(text: str) -> str:
    """``repr(text)``, cut to about SHOWN_COLUMNS characters with its length said."""
    if len(text) <= SHOWN_COLUMNS:
        return repr(text)
    return repr(text[:SHOWN_COLUMNS]) + f"... ({len(text):,} characters)"


class SymparamError(Exception):
    """Base of all errors a user can cause. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class SourceError(SymparamError):
    """An error at a place in a source file: names the line and column, shows a caret.

    >>> err = SourceError("unknown layer 'conv2'", line=2, column=5,
    ...                   source="model m():\\n    conv2 3\\n")
    >>> print(err)
    line 2, column 5: unknown layer 'conv2'
            conv2 3
            ^
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 source: str | None = None, filename: str | None = None):
        super().__init__(message)
        self.line = line
        self.column = column
        self.source = source
        self.filename = filename

    def with_source(self, source: str, filename: str | None = None) -> "SourceError":
        """Attach the text (and file name) the position refers to, if not known yet."""
        if self.source is None:
            self.source = source
        if self.filename is None:
            self.filename = filename
        return self

    def __str__(self) -> str:
        where = []
        if self.filename:
            where.append(self.filename)
        if self.line is not None:
            where.append(f"line {self.line}")
            if self.column is not None:
                where.append(f"column {self.column}")
        head = (", ".join(where) + ": " if where else "") + self.message
        if self.source is None or self.line is None:
            return head
        # The lines the parser counted (not str.splitlines, which also splits at a form
        # feed or U+2028 and would show a later line).
        lines = source_lines(self.source)
        if not 1 <= self.line <= len(lines):
            return head
        text, caret = window(lines[self.line - 1], self.column)
        return f"{head}\n    {text}\n    {caret}"

    def in_block(self, kind: str, line: int) -> None:
        """Say that the error is inside a use of block ``kind`` at ``line``, called once
        per enclosing block, innermost first: the message names the innermost
        SHOWN_BLOCKS and the outermost, and counts the ones between."""
        if not hasattr(self, "blocks"):
            self.blocks, self.plain = [], self.message
        self.blocks.append((kind, line))
        shown = [f" (in block '{k}' used at line {n})" for k, n in self.blocks]
        if len(shown) > SHOWN_BLOCKS + 1:
            hidden = len(shown) - SHOWN_BLOCKS - 1
            shown[SHOWN_BLOCKS:-1] = [f" (... in {hidden:,} more blocks)"]
        self.message = self.plain + "".join(shown)


class UsageError(SymparamError):
    """Bad command-line or API arguments (not a place in a file)."""
