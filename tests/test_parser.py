"""Text to syntax tree: the grammar's structure, positions, layout of lines, and
expression evaluation (precedence as in Python)."""
from __future__ import annotations

import textwrap

import pytest
import sympy

import symparam
from symparam import SourceError, ast, parse
from symparam.values import Env, Word, evaluate, symbol


def doc_of(text: str) -> ast.Document:
    return parse(textwrap.dedent(text).lstrip("\n"))


FULL = r"""
convention torch
# a comment line
block b(k, j = 2):   # a trailing comment
    dense k, \
        activation = relu as fc

model m(n = 4, h = 3):
    input [n,
           h] as x

    let a = 2 * n
    residual:
        b 3, j = 4
    shortcut:
        identity
    branches concat, axis = -1:
        branch:
            dense 3
        branch:
            from x
    repeat 2 as i:
        dense a
"""


def test_structure_of_a_document():
    doc = doc_of(FULL)
    assert doc.convention.value == "torch"
    assert list(doc.blocks) == ["b"] and list(doc.models) == ["m"]
    block, model = doc.definitions
    assert [(p.name, p.default) for p in block.params] == [("k", None), ("j", ast.Num("2"))]
    (layer,) = block.body
    assert (layer.kind, layer.args, layer.name) == ("dense", (ast.Name("k"),), "fc")
    assert layer.kwargs == (ast.Kwarg("activation", ast.Name("relu")),)
    kinds = [type(s).__name__ for s in model.body]
    assert kinds == ["Input", "Let", "Residual", "Branches", "Repeat"]
    inp, let, res, br, rep = model.body
    assert inp.dims == ast.ListExpr((ast.Name("n"), ast.Name("h"))) and inp.name == "x"
    assert let == ast.Let("a", ast.Chain(ast.Num("2"), (("*", ast.Name("n")),)))
    assert res.body == (ast.Layer("b", (ast.Num("3"),), (ast.Kwarg("j", ast.Num("4")),)),)
    assert res.shortcut == (ast.Layer("identity"),)
    assert br.merge == "concat" and br.kwargs == (ast.Kwarg("axis", ast.Neg(ast.Num("1"))),)
    assert br.branches == ((ast.Layer("dense", (ast.Num("3"),)),), (ast.From("x"),))
    assert (rep.count, rep.var, rep.body) == (ast.Num("2"), "i",
                                               (ast.Layer("dense", (ast.Name("a"),)),))


def test_positions_point_at_the_tokens():
    doc = doc_of(FULL)
    block, model = doc.definitions
    assert (block.line, block.column) == (3, 7)            # the block's name
    layer = block.body[0]
    assert (layer.line, layer.column) == (4, 5)            # the layer's kind
    assert (layer.kwargs[0].line, layer.kwargs[0].column) == (5, 9)  # after a backslash
    assert layer.name_at == (5, 30)                        # the name after `as`
    inp, let = model.body[:2]
    assert (inp.dims.items[1].line, inp.dims.items[1].column) == (9, 12)  # inside brackets
    assert inp.name_at == (9, 18)
    assert (let.line, let.column) == (11, 9)               # the name a let defines


def test_parse_is_pure():
    assert doc_of(FULL).definitions == doc_of(FULL).definitions


@pytest.mark.parametrize("text", [
    "model m():\r\n    input [3]\r\n    dense 2\r\n",          # Windows line ends
    "model m():\n    input [3]\n    dense 2",                  # no final newline
    "\n\n# leading comments\n\nmodel m():\n\n    input [3]\n    # inside\n    dense 2\n",
    "model m():\n\tinput [3]\n\tdense 2\n",                   # tabs
    "model m():\n    input [3]\n    dense 2 # comment\n  # an unindented comment\n",
    "model m(\n    ):\n    input [\n        3\n    ]\n    dense 2\n",
])
def test_line_layout_does_not_change_the_meaning(text):
    (model,) = parse(text).definitions
    assert [type(s).__name__ for s in model.body] == ["Input", "Layer"]
    assert model.body[0].dims.items == (ast.Num("3"),)
    assert model.body[1] == ast.Layer("dense", (ast.Num("2"),))


@pytest.mark.parametrize("text, expected", [
    ("2 + 3 * 4", 14),
    ("2 * 3 ** 2", 18),
    ("2 ** 3 ** 2", 512),           # right-associative
    ("-2 ** 2", -4),                # unary minus binds looser than **
    ("(2 + 3) * 4", 20),
    ("7 // 2", 3),
    ("-7 // 2", -4),                # floor division rounds down, as in Python
    ("7 % 3", 1),
    ("10 - 4 - 3", 3),              # left-associative
    ("12 / 4 / 3", 1),
    ("7 / 2", sympy.Rational(7, 2)),
    ("2.5", sympy.Rational(5, 2)),
    ("1e3", 1000),
    ("floor(7 / 2) + ceil(7 / 2)", 7),
    ("min(3, 1, 2) + max(3, 4)", 5),
    ("abs(-3) * sqrt(16)", 12),
    ("+5", 5),
])
def test_arithmetic(text, expected):
    (model,) = parse(f"model m():\n    let v = {text}\n    input [1]\n").definitions
    assert evaluate(model.body[0].value, Env({})) == expected


def test_symbols_words_booleans_strings_lists():
    n = symbol("n")
    env = Env({"n": n})
    (model,) = parse('model m(n):\n    dense n // 2, [same, true, "a\\"b\\n", [1, n]]\n'
                     ).definitions
    first, second = model.body[0].args
    assert evaluate(first, env) == sympy.floor(n / 2)
    word, true, text, inner = evaluate(second, env)
    assert isinstance(word, Word) and word.text == "same" and (word.line, word.column) == (2, 20)
    assert true is True and text == 'a"b\n' and inner == (1, n)


def test_symbols_are_positive_integers():
    n = symbol("n")
    assert n.is_integer and n.is_positive
    assert sympy.floor(n) == n            # which is what lets floor terms simplify


def test_keyword_and_positional_arguments_are_separated():
    (model,) = parse("model m():\n    conv2d 8, 3, stride = 2, padding = same as c\n"
                     ).definitions
    layer = model.body[0]
    assert layer.args == (ast.Num("8"), ast.Num("3"))
    assert [k.name for k in layer.kwargs] == ["stride", "padding"]
    assert layer.name == "c"


def test_syntax_errors_are_source_errors_with_the_file_name():
    with pytest.raises(SourceError) as info:
        parse("model m(:\n", filename="x.symp")
    err = info.value
    assert (err.filename, err.line, err.column) == ("x.symp", 1, 9)
    assert str(err).startswith("x.symp, line 1, column 9: syntax error: unexpected ':'")


def test_only_ascii_digits_are_numbers():
    # Python's \d also matches other scripts' digits; "٣" must not silently be 3.
    with pytest.raises(SourceError, match="unexpected character") as err:
        symparam.analyze("model m():\n    input [\u0663]\n    dense 2\n")
    assert (err.value.line, err.value.column) == (2, 12)
