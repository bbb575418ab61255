"""Characters in source text: the one rule for line ends, and how a character that has
no business in a model is named in a message.

Lines end at ``\\n`` or ``\\r\\n``; a lone ``\\r`` (old Mac files) ends a line too. Every
other separator that Python's ``str.splitlines`` honours (form feed, vertical tab,
``\\x1c``-``\\x1e``, NEL, U+2028, U+2029) is *not* a line end: in a comment it is just a
character, elsewhere it is refused by name. So the line an error names is the line the
user's editor shows, whatever reads the text (the API, a file, standard input).

>>> normalize_newlines("a\\r\\nb\\rc\\x0cd\\n")
'a\\nb\\nc\\x0cd\\n'
>>> describe_char("\\u2028"), describe_char("\\x0c"), describe_char("$")
('U+2028 (LINE SEPARATOR)', 'U+000C (FORM FEED)', "'$'")
"""
from __future__ import annotations

import re
import unicodedata

# Unicode's names (aliases) of the control characters, which have no name of their own
# in the Unicode database (``unicodedata.name("\x0c")`` fails).
_C0 = ("NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION",
       "ENQUIRY", "ACKNOWLEDGE", "ALERT", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED",
       "LINE TABULATION", "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN",
       "DATA LINK ESCAPE", "DEVICE CONTROL ONE", "DEVICE CONTROL TWO",
       "DEVICE CONTROL THREE", "DEVICE CONTROL FOUR", "NEGATIVE ACKNOWLEDGE",
       "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL", "END OF MEDIUM",
       "SUBSTITUTE", "ESCAPE", "INFORMATION SEPARATOR FOUR", "INFORMATION SEPARATOR THREE",
       "INFORMATION SEPARATOR TWO", "INFORMATION SEPARATOR ONE")
_C1 = ("PADDING CHARACTER", "HIGH OCTET PRESET", "BREAK PERMITTED HERE", "NO BREAK HERE",
       "INDEX", "NEXT LINE", "START OF SELECTED AREA", "END OF SELECTED AREA",
       "CHARACTER TABULATION SET", "CHARACTER TABULATION WITH JUSTIFICATION",
       "LINE TABULATION SET", "PARTIAL LINE FORWARD", "PARTIAL LINE BACKWARD",
       "REVERSE LINE FEED", "SINGLE SHIFT TWO", "SINGLE SHIFT THREE",
       "DEVICE CONTROL STRING", "PRIVATE USE ONE", "PRIVATE USE TWO", "SET TRANSMIT STATE",
       "CANCEL CHARACTER", "MESSAGE WAITING", "START OF GUARDED AREA",
       "END OF GUARDED AREA", "START OF STRING", "SINGLE GRAPHIC CHARACTER INTRODUCER",
       "SINGLE CHARACTER INTRODUCER", "CONTROL SEQUENCE INTRODUCER", "STRING TERMINATOR",
       "OPERATING SYSTEM COMMAND", "PRIVACY MESSAGE", "APPLICATION PROGRAM COMMAND")
CONTROL_NAMES = {**dict(enumerate(_C0)), 0x7F: "DELETE",
                 **{0x80 + i: name for i, name in enumerate(_C1)}}

# Refused even inside a string (a string is not a comment): the control characters but
# the tab, and the line and paragraph separators.
REFUSED_IN_STRINGS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# Not shown as themselves when a line is printed under an error: they would move the
# cursor, change the terminal, or hide text (the caret would no longer line up).
_UNSHOWABLE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))
_BOM = "\ufeff"


def normalize_newlines(text: str) -> str:
    """The text with every line end written ``\\n`` (``\\r\\n`` and a lone ``\\r``), and
    without a leading byte-order mark (editors do not show it, so columns match)."""
    if text.startswith(_BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def char_name(c: str) -> str:
    """A character's Unicode name, the control characters' included."""
    return unicodedata.name(c, "") or CONTROL_NAMES.get(ord(c), "unnamed character")


def describe_char(c: str) -> str:
    """A character as a message names it: printable ASCII as itself, anything else by
    code point and name (and glyph, when it has a visible one)."""
    if " " < c < "\x7f":
        return repr(c)
    code = f"U+{ord(c):04X}"
    if c.isprintable() and not c.isspace() and unicodedata.category(c) not in _UNSHOWABLE:
        return f"'{c}' ({code} {char_name(c)})"
    return f"{code} ({char_name(c)})"


def source_lines(text: str) -> list[str]:
    """The lines as the parser counts them (only line ends end a line).

    >>> source_lines("# a\\x0cb\\r\\nmodel\\n")
    ['# a\\x0cb', 'model']
    """
    lines = normalize_newlines(text).split("\n")
    return lines[:-1] if len(lines) > 1 and not lines[-1] else lines


def width(text: str) -> int:
    """Terminal columns ``text`` takes (tabs already expanded): a wide (CJK) character
    two, a combining mark none, so a caret under a string of them lines up.

    >>> width("ab"), width("\u6f22\u5b57"), width("e\u0301")
    (2, 4, 1)
    """
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def showable(line: str) -> str:
    """A line safe to print under a message: characters that would act on the terminal
    or print as nothing become U+FFFD, one column each, so the caret still lines up."""
    if line.isprintable():
        return line
    return "".join("\ufffd" if c != "\t" and unicodedata.category(c) in _UNSHOWABLE else c
                   for c in line)
