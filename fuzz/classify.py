"""Outcome classes, and the checks that decide them.

- ``ok``: no error, and no canary or object repr in the output.
- ``clear error``: a :class:`symparam.SymparamError` whose text holds no traceback or
  internal repr, and whose position passes the line checks below.
- ``traceback``: any other exception (or a worker that died), or a SymparamError
  whose text holds a traceback or an internal repr, or an internal repr in normal
  output.
- ``hang``: the input ran past the time limit (twice: it is run again alone).
- ``wrong line``: a position that does not point where the user's editor would.
- ``template escape``: a canary was triggered (see :mod:`fuzz.target`), or a
  template's (or a formula's, or the command line's) output holds an object repr
  (``<function ...>``, ``... object at 0x``) that is not in the inputs.

The line checks, for an error with a line (and column) in a text the user wrote.
Editor lines are the text split at ``\\n``, ``\\r\\n`` and a lone ``\\r``, the rule
docs/language.md states (form feeds, U+2028 and the like do not end a line):

1. the line is one of the text's lines (the empty line after a final newline
   included), and the column is within that line or one past its end;
2. where the message shows the line with a caret under it, it shows *that* editor
   line (tabs expanded), or its start (Python's ``splitlines`` also breaks at form
   feeds, U+2028 and the like: a display cut there is still the right line), not
   another line;
3. for a *marked* mutation (a character no token may contain, put at line K of a valid
   model, outside strings and comments): the line is K or earlier. The text before
   the mark is the valid model's, and the lexer reads in order, so a correct error
   can never be later than K; it may be earlier (an error that explains it, such as
   a bracket opened before).

None of the three can fail on a correct error, so ``wrong line`` has no false
positives by construction: a line the editor does not have, a line shown that is not
the line named, or an error after the first character that cannot be read.
"""
from __future__ import annotations

import re

OK = "ok"
CLEAR = "clear error"
TRACEBACK = "traceback"
HANG = "hang"
WRONG_LINE = "wrong line"
ESCAPE = "template escape"
CLASSES = (OK, CLEAR, TRACEBACK, HANG, WRONG_LINE, ESCAPE)

# Text no message for a user should hold: a traceback, reprs of internal objects.
INTERNAL = re.compile(
    r"Traceback \(most recent call last\)|<[\w.]+ object at 0x[0-9a-fA-F]+|"
    r"<(?:function|class|built-in function|built-in method|bound method|module) |"
    r"Error trying to process rule|\bVisitError\b|\bSympifyError\b|\bTokenError\b|"
    r"\bToken\('|\bTree\('|\bUnexpected(?:Token|Characters|EOF)\b")
# An object's repr in an output.
LEAK = re.compile(
    r"<(?:function|class|built-in function|built-in method|bound method|method|module|"
    r"frame|code object|generator object|cell|property|classmethod|staticmethod|"
    r"jinja2\.|symparam\.|sympy\.)[ '>.\w]|\bobject at 0x[0-9a-fA-F]+")
_MESSAGE_LINE = re.compile(r"\bline (\d+)(?:, column (\d+))?")


def internal_text(message: str, inputs: tuple[str, ...]) -> str | None:
    """The first internal repr or traceback in ``message`` that is not in the inputs."""
    for m in INTERNAL.finditer(message):
        if not any(m.group() in text for text in inputs):
            return m.group()
    return None


SCAN = 1 << 20  # characters of an output searched for reprs, at each end


def leaked_repr(output: str, inputs: tuple[str, ...]) -> str | None:
    # A huge output (a template's 100 MB `center`) is searched at its ends only, so that
    # the harness's own time never makes a hang.
    if len(output) > 2 * SCAN:
        output = output[:SCAN] + "\n" + output[-SCAN:]
    for m in LEAK.finditer(output):
        if not any(m.group() in text for text in inputs):
            return output[max(0, m.start() - 20):m.end() + 40]
    return None


def editor_lines(text: str) -> list[str]:
    """The lines an editor shows: split at \\n, \\r\\n and a lone \\r (old Mac files),
    the rule docs/language.md states; form feeds, U+2028 and the like are not line ends."""
    return re.split(r"\r\n|\r|\n", text)


def _shows(row: str, got: str) -> bool:
    """Does ``got`` show ``row``? It may stop early (at a character Python takes for a
    line break), be a window of a long line (marked by '...' at a cut end), and show a
    character that would act on the terminal as U+FFFD. Its tabs are expanded, in a
    window from the window's own start (errors.window), so a run of spaces in it
    stands for spaces and tabs of the row."""
    head = got.startswith("...") or got.startswith("\u2026")
    core = got.lstrip(".\u2026").rstrip(".\u2026") if head else got.rstrip(".\u2026")
    pattern = r"[ \t]+".join(re.escape(part).replace("\ufffd", ".")
                             for part in re.split(r" +", core))
    return re.search(("" if head else "^") + pattern, row, re.S) is not None


def line_problem(line, column, text: str, shown: str | None = None,
                 expect_line: int = 0) -> tuple[str, str] | None:
    """What is wrong with the position (line, column) in ``text``: (rule, explanation),
    or None. ``shown`` is the error's full text when it may show the line with a caret."""
    if line is None:
        return None
    lines = editor_lines(text)
    if not isinstance(line, int) or not 1 <= line <= len(lines):
        return "no such line", f"line {line} is not a line of the text (it has {len(lines)})"
    row = lines[line - 1]
    if column is not None and (not isinstance(column, int) or not 1 <= column <= len(row) + 1):
        return "no such column", f"column {column} is not in line {line} ({len(row)} characters)"
    if expect_line and line > expect_line:
        return "after the mark", (f"line {line} is after line {expect_line}, which holds a "
                                  f"character no token may contain")
    if shown is not None and row.strip():
        got = shown_line(shown)
        if got is None:
            return "line not shown", f"the message does not show line {line}"
        # The line shown may stop early (at a character Python takes for a line break),
        # but it must be the start of *that* line, not of another.
        if not _shows(row, got):
            return "another line shown", (f"the message shows {got!r} for line {line}, "
                                          f"which is {row!r}")
    return None


def shown_line(message: str) -> str | None:
    """The source line an error shows above its caret, or None."""
    last = message.rsplit("\n", 2)
    if len(last) == 3 and last[-1].strip() == "^" and last[-2].startswith("    "):
        return last[-2][4:]
    return None


def message_line_problem(message: str, text: str) -> tuple[str, str] | None:
    """For a template's errors, known only by their text: every 'line N' it names is
    a line of ``text`` (counted as Jinja counts them: \\r\\n, \\r and \\n end a line)."""
    count = len(re.split(r"\r\n|\r|\n", text))  # as Jinja counts lines
    for m in _MESSAGE_LINE.finditer(message.split("\n", 1)[0]):
        n = int(m.group(1))
        if not 1 <= n <= count:
            return "no such line", f"the message names line {n}; the text has {count}"
    return None
