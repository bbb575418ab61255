"""One root for every user-facing error.

Library code raises these; only the command line turns them into a message and an
exit code, so a user never sees a Python traceback for bad input.
"""
from __future__ import annotations

from .chars import showable, source_lines, width


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
        raw = showable(lines[self.line - 1])
        # Columns count characters; the line is shown with tabs expanded, so is the caret.
        caret = " " * width(raw[:max(self.column or 1, 1) - 1].expandtabs(8)) + "^"
        text = raw.expandtabs(8)
        return f"{head}\n    {text}\n    {caret}"


class UsageError(SymparamError):
    """Bad command-line or API arguments (not a place in a file)."""
