"""A Pygments lexer for symparam's language, so ```` ```symparam ```` blocks highlight in
documentation sites, notebooks and any tool that uses Pygments.

It is registered as the entry point ``pygments.lexers: symparam`` (``pyproject.toml``):
once symparam is installed, ``pygmentize -l symparam model.symp`` and Markdown
renderers that use Pygments find it by name. Its keywords are read from the grammar
(``grammar/symparam.lark``, the single source of the language) and its layer names
from the layer registry, so a new statement or layer kind highlights with no change
here.

>>> from pygments import lex
>>> [(str(t), v) for t, v in lex("dense h  # width\\n", SymparamLexer()) if v.strip()]
[('Token.Name.Builtin', 'dense'), ('Token.Name', 'h'), ('Token.Comment.Single', '# width')]
"""
from __future__ import annotations

import re
from functools import lru_cache

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation,
                            String, Text, Whitespace)

from .resources import resource_dir


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """The grammar's keywords: every quoted word in ``symparam.lark`` (``"model"``,
    ``"repeat"``, ...), ``as`` and ``in`` (the tensor a statement reads, `in.channels`)."""
    text = (resource_dir("grammar") / "symparam.lark").read_text(encoding="utf-8")
    found = set(re.findall(r'"([a-z]+)"', text)) | {"as", "in"}
    return tuple(sorted(found, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=1)
def layer_names() -> tuple[str, ...]:
    """Every layer kind's DSL names, from the registry (plugins included)."""
    from .layers.base import REGISTRY

    return tuple(sorted(REGISTRY, key=lambda w: (-len(w), w)))


def _tokens() -> dict:
    return {"root": [
        (r"[ \t]+", Whitespace),
        (r"\r?\n", Whitespace),
        (r"#.*?$", Comment.Single),
        (r"\\\s*$", Punctuation),  # a backslash continues a line
        (r"(model|block)(\s+)([A-Za-z_]\w*)",
         bygroups(Keyword.Declaration, Whitespace, Name.Function)),
        (r"(convention|layout)(\s+)(keras|torch|channels_last|channels_first)\b",
         bygroups(Keyword, Whitespace, Name.Constant)),
        (words(keywords(), suffix=r"\b"), Keyword),
        (words(("true", "false", "True", "False"), suffix=r"\b"), Keyword.Constant),
        (words(layer_names(), prefix=r"(?<![\w.])", suffix=r"\b(?!\s*=)"), Name.Builtin),
        (r'"([^"\\\n]|\\.)*"', String),
        (r"([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?", Number),
        (r"([A-Za-z_]\w*)(\s*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
        (r"[A-Za-z_]\w*", Name),
        (r"\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
        (r"[()\[\],:.]", Punctuation),
        (r".", Text),
    ]}


class SymparamLexer(RegexLexer):
    """symparam's architecture language (``.symp`` files)."""

    name = "symparam"
    aliases = ["symparam", "symp"]
    filenames = ["*.symp"]
    mimetypes = ["text/x-symparam"]
    url = "https://github.com/symparam/symparam"

    # Built when this module is imported: layer kinds registered before then highlight.
    tokens = _tokens()
