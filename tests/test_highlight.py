"""The Pygments lexer (symparam/highlight.py): every shipped model lexes without an
error token and back to its own text; statements, layers, numbers and comments get
their token types; the installed entry point finds it by name and file name."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pygments = pytest.importorskip("pygments", reason="pygments is not installed "
                                                   "(pip install symparam[highlight])")
from pygments import lex  # noqa: E402
from pygments.token import Comment, Error, Keyword, Name, Number, Text  # noqa: E402

from symparam.highlight import SymparamLexer, keywords  # noqa: E402
from symparam.layers.base import REGISTRY  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "zoo").glob("*.symp")) + sorted((ROOT / "docs" / "examples").glob("*.symp"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_model_lexes_cleanly(path):
    text = path.read_text(encoding="utf-8")
    tokens = list(lex(text, SymparamLexer()))
    assert "".join(v for _, v in tokens) == text
    assert [v for t, v in tokens if t in Error] == []
    assert [v for t, v in tokens if t is Text and v.strip()] == []  # nothing unclassified


def test_token_types():
    src = ('convention torch\nmodel m(d = 768 "d_{m}", L = 12):  # a model\n'
           '    input [d] as x\n    repeat L:\n        dense 4 * d, activation = "gelu"\n'
           '    add x\n')
    toks = [(t, v) for t, v in lex(src, SymparamLexer()) if v.strip()]
    kinds = dict((v, t) for t, v in toks)
    assert kinds["model"] in Keyword and kinds["m"] in Name.Function
    assert kinds["repeat"] in Keyword and kinds["as"] in Keyword
    assert kinds["dense"] in Name.Builtin and kinds["add"] in Name.Builtin
    assert kinds["activation"] in Name.Attribute and kinds["# a model"] in Comment
    assert kinds["768"] in Number and kinds["torch"] in Name.Constant


def test_keywords_come_from_the_grammar():
    assert {"model", "block", "repeat", "residual", "branches", "input", "let", "from",
            "layout", "convention", "as", "and", "or", "not"} <= set(keywords())


def test_every_layer_name_is_highlighted():
    for name in REGISTRY:
        toks = [(t, v) for t, v in lex(f"    {name} 8\n", SymparamLexer()) if v.strip()]
        assert toks[0] == (Name.Builtin, name), name


def test_entry_point_finds_the_lexer():
    from importlib.metadata import entry_points

    if not any(ep.name == "symparam" for ep in entry_points(group="pygments.lexers")):
        if os.environ.get("CI", "") == "true":
            pytest.fail("the pygments.lexers entry point is not installed (pip install -e .)")
        pytest.skip("symparam is not installed with its entry points (pip install -e .)")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert isinstance(get_lexer_by_name("symparam"), SymparamLexer)
    assert isinstance(get_lexer_for_filename("model.symp"), SymparamLexer)
