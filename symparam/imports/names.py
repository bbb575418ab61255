"""Names and comments in the files ``symparam import`` writes: a name the language
accepts (not a keyword, an identifier), and a text safe inside a ``#`` comment.

May import the foundations only.
"""
from __future__ import annotations

import re

from ..parser import _RESERVED  # the language's keywords: the parser's one list


def identifier(text: str, taken: frozenset[str] | set[str] = frozenset()) -> str:
    """``text`` as a name the language accepts and not in ``taken``.

    >>> identifier("3b-instruct"), identifier("model"), identifier("")
    ('m_3b_instruct', 't_model', 'm_')
    """
    out = re.sub(r"\W", "_", text.strip(), flags=re.ASCII)
    if not out or out[0].isdigit():
        out = "m_" + out
    while out in _RESERVED or out in taken:
        out = "t_" + out
    return out


def comment_text(text: str) -> str:
    """``text`` with every control character (a line end would end the comment) and
    line separator shown as ``?``."""
    return re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", "?", text)
