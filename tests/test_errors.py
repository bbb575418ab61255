"""Every bad input gives one SymparamError naming the problem, with its line and
column and the source line with a caret under the offending text; never a traceback,
never a wrong number.

The tables follow einops ``tests/test_parsing.py``: a bad input, the message it must
give (a regular expression), and the text the caret must point at.
"""
from __future__ import annotations

import random
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from symparam import SourceError, SymparamError, UsageError, analyze, parse
from symparam.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


MLP = "model m(n = 8, d = 512):\n    input [n]\n"

# (id, source, analyze() keywords, message regex, line, text at the caret).
# The text at the caret is what the source line holds from the reported column on;
# "" means the caret stands just past the end of the line (a line that ends too early).
SOURCE_ERRORS = [
    # ---- syntax
    ("missing colon", "model m(n)\n    input [n]\n", {},
     r"syntax error: the line ends too early \(expected ':'\)", 1, ""),
    ("unexpected indent", "model m(n):\n    input [n]\n      dense 3\n", {},
     r"unexpected indentation", 3, "dense 3"),
    ("inconsistent dedent",
     "model m(n):\n    input [n]\n    repeat 2:\n        dense 3\n      dense 4\n", {},
     r"inconsistent indentation: .*indented by 6 columns.*expected 8 or 4 or 0", 5, "dense 4"),
    ("unclosed bracket", "model m(n):\n    input [n\n    dense 3\n", {},
     r"this '\[' is never closed \(the text reaches 'dense' on line 3", 2, "[n"),
    ("unclosed bracket at end", "model m(n):\n    input [n\n", {},
     r"this '\[' is never closed \(the text reaches the end of the file", 2, "[n"),
    ("unclosed parenthesis", "model m(n\n", {}, r"this '\(' is never closed", 1, "(n"),
    ("bracket closed on the same line", "model m(n):\n    input [n 3]\n", {},
     r"unexpected '3' \(expected .*']'", 2, "3]"),
    ("stray character", "model m(n):\n    input [n]\n    dense 3 $\n", {},
     r"unexpected character '\$'", 3, "$"),
    ("empty body at end", "model m(n):\n", {},
     r"file ends too early \(expected an indented body", 1, ""),
    ("empty body", "model m(n):\n    input [n]\n    repeat 2:\n    dense 3\n", {},
     r"unexpected 'dense' \(expected an indented body", 4, "dense 3"),
    ("file ends early", "model m(n):\n    input [n]\n    dense 3,", {},
     r"the line ends too early \(expected .*a number", 3, ""),
    ("double comma", MLP + "    dense 3,, 4\n", {}, r"unexpected ','", 3, ", 4"),
    ("what may follow, in words", MLP + "    dense 3 4\n", {},
     r"unexpected '4' \(expected ',', 'as', end of line, an operator\)", 3, "4"),
    ("layer outside a model", "dense 3\n", {},
     r"unexpected 'dense' \(expected 'block', 'convention', 'model'", 1, "dense 3"),
    ("branches without branch", MLP + "    branches concat:\n        dense 3\n", {},
     r"unexpected 'dense' \(expected 'branch'\)", 4, "dense 3"),
    ("positional after keyword", MLP + "    dense units = 3, relu\n", {},
     r"positional argument follows the keyword argument 'units'", 3, "relu"),
    ("a keyword as a layer's name", MLP + "    dense 3 as as\n", {},
     r"'as' is a keyword: it cannot be used as a name", 3, "as"),
    ("a keyword as a symbol", "model m(true = 3):\n    input [3]\n", {},
     r"'true' is a keyword: it cannot be used as a name", 1, "true"),
    ("a keyword as a model's name", "model model():\n    input [3]\n", {},
     r"'model' is a keyword", 1, "model()"),
    ("convention twice", "convention torch\nconvention keras\nmodel m():\n    input [3]\n", {},
     r"the convention is given twice \(first at line 1\)", 2, "keras"),
    ("convention after a model", "model m():\n    input [3]\nconvention torch\n", {},
     r"convention line must come before every model", 3, "torch"),
    # ---- unknown names
    ("unknown layer", MLP + "    conv2 3, 3\n", {},
     r"unknown layer 'conv2' \(did you mean 'conv2d'", 3, "conv2 3"),
    ("misspelt argument", "model m():\n    input [8, 8, 3]\n    conv2d 3, 3, strdie = 2\n", {},
     r"unknown argument 'strdie' for conv2d \(did you mean 'stride'\?\)", 3, "strdie"),
    ("unknown block argument",
     "block b(k):\n    dense k\nmodel m():\n    input [3]\n    b 4, kk = 3\n", {},
     r"unknown argument 'kk' for block b \(did you mean 'k'\?\)", 5, "kk = 3"),
    ("unknown function", MLP + "    dense flor(n)\n", {},
     r"unknown function 'flor' \(did you mean 'floor'\?\)", 3, "flor(n)"),
    ("unknown merge", MLP + "    branches cat2:\n        branch:\n            dense 3\n"
     "        branch:\n            dense 3\n", {},
     r"unknown merge 'cat2' \(did you mean 'cat'\?\)", 3, "cat2"),
    ("unknown layout", "model m():\n    layout channels_frist\n    input [3]\n", {},
     r"unknown layout 'channels_frist'.*did you mean 'channels_first'", 2, "channels_frist"),
    ("unknown convention", "convention tensorflow\nmodel m():\n    input [3]\n", {},
     r"unknown convention 'tensorflow': use keras or torch", 1, "tensorflow"),
    ("unknown activation", MLP + "    dense 3, activation = rleu\n", {},
     r"got the word 'rleu' \(did you mean 'relu'\?\)", 3, "rleu"),
    # ---- arguments
    ("argument given twice", MLP + "    dense 3, units = 4\n", {},
     r"argument 'units' of dense is given twice", 3, "units = 4"),
    ("argument given twice by alias", MLP + "    dense 3, bias = true, use_bias = false\n", {},
     r"argument 'bias' of dense is given twice", 3, "use_bias"),
    ("block argument given twice",
     "block b(k):\n    dense k\nmodel m():\n    input [3]\n    b 4, k = 3\n", {},
     r"argument 'k' of b is given twice", 5, "k = 3"),
    ("too many positional arguments", MLP + "    dense 3, 4\n", {},
     r"dense takes 1 positional argument \(units\), got 2", 3, "4"),
    ("too many block arguments",
     "block b(k):\n    dense k\nmodel m():\n    input [3]\n    b 4, 5\n", {},
     r"block b takes 1 argument \(k\), got 2", 5, "5"),
    ("missing argument", MLP + "    dense\n", {}, r"dense needs its argument 'units'", 3, "dense"),
    ("missing block argument",
     "block b(k):\n    dense k\nmodel m():\n    input [3]\n    b\n", {},
     r"block b needs its argument 'k'", 5, "b"),
    # ---- undefined symbols
    ("undefined symbol in a layer", MLP + "    dense q\n", {},
     r"dense argument 'units': undefined symbol 'q'", 3, "q"),
    ("undefined symbol, close to a known one", MLP + "    dense dd\n", {},
     r"undefined symbol 'dd' \(did you mean 'd'\?\)", 3, "dd"),
    ("undefined symbol in a let", MLP + "    let f = 4 * q\n", {},
     r"undefined symbol 'q'", 3, "q"),
    ("undefined symbol in an input", "model m(n):\n    input [n, q]\n", {},
     r"input dimension: undefined symbol 'q'", 2, "q]"),
    ("undefined symbol in a default", "model m(n = q):\n    input [n]\n", {},
     r"undefined symbol 'q'", 1, "q)"),
    ("a bad value given to a block names where the block was used",
     "block inner(k):\n    conv2d 4, k\nblock outer(k):\n    inner k\nmodel m():\n"
     "    input [3, 3, 1]\n    outer 5\n", {},
     r"window of size 5 is larger than its input of size 3 \(in block 'inner' used at line 4\) "
     r"\(in block 'outer' used at line 7\)\n", 2, "conv2d"),
    ("a block does not see the model's symbols",
     "block b(k):\n    dense n\nmodel m(n = 3):\n    input [n]\n    b 4\n", {},
     r"undefined symbol 'n'", 2, "n"),
    ("a word used as a number", MLP + "    dense relu + 3\n", {},
     r"undefined symbol 'relu'", 3, "relu"),
    # ---- duplicate names
    ("layer name twice", MLP + "    dense 3 as x\n    dense 3 as x\n", {},
     r"duplicate name 'x' \(already used at line 3\)", 4, "x"),
    ("input and layer with one name", "model m():\n    input [3] as x\n    dense 3 as x\n", {},
     r"duplicate name 'x' \(already used at line 2\)", 3, "x"),
    ("two models with one name", "model m(n):\n    input [n]\nmodel m(n):\n    input [n]\n", {},
     r"duplicate name 'm': a model of that name is defined at line 1", 3, "m(n)"),
    ("a block and a model with one name", "block m(n):\n    dense n\nmodel m(n):\n    input [n]\n",
     {}, r"duplicate name 'm': a block of that name is defined at line 1", 3, "m(n)"),
    ("a block named like a layer", "block dense(k):\n    relu\nmodel m():\n    input [3]\n", {},
     r"block 'dense' has the name of a built-in layer", 1, "dense(k)"),
    ("symbol twice", "model m(n, n):\n    input [n]\n", {},
     r"duplicate symbol 'n' in model m", 1, "n):"),
    ("let twice", MLP + "    let a = 2\n    let a = 3\n", {},
     r"duplicate name 'a' \(already defined at line 3", 4, "a = 3"),
    ("let hides a symbol", MLP + "    let n = 2\n", {},
     r"duplicate name 'n' \(already defined at line 1", 3, "n = 2"),
    ("let in a repeat hides an outer let",
     MLP + "    let a = 2\n    repeat 2:\n        let a = 3\n        dense a\n", {},
     r"duplicate name 'a' \(already defined at line 3", 5, "a = 3"),
    ("repeat index hides a symbol", MLP + "    repeat 2 as n:\n        dense n\n", {},
     r"duplicate name 'n' \(already defined at line 1; a repeat index", 3, "repeat"),
    ("layout twice", "model m():\n    layout channels_first\n    layout channels_last\n"
     "    input [3]\n", {}, r"the layout is given twice \(first at line 2\)", 3, "channels_last"),
    # ---- tensors
    ("from an unknown tensor", MLP + "    dense 3 as hidden\n    from hiden\n", {},
     r"unknown tensor 'hiden' \(did you mean 'hidden'\?\)", 4, "hiden"),
    ("add an unknown tensor", MLP + "    add nope\n", {}, r"unknown tensor 'nope'", 3, "nope"),
    ("a block's names are its own",
     "block b():\n    dense 3 as z\nmodel m():\n    input [3]\n    b\n    from z\n", {},
     r"unknown tensor 'z'", 6, "z"),
    ("a block cannot see the model's tensors",
     "block b():\n    add x\nmodel m():\n    input [3] as x\n    dense 3\n    b\n", {},
     r"unknown tensor 'x'", 2, "x"),
    ("add without a tensor", MLP + "    add\n", {},
     r"add needs at least one named tensor", 3, "add"),
    # ---- shapes
    ("add of different sizes", "model m():\n    input [32] as a\n    dense 64\n    add a\n", {},
     r"cannot add tensors of shapes \(None, 64\) and \(None, 32\)", 4, "add a"),
    ("concat with other axes different",
     "model m():\n    input [4, 5] as a\n    dense 6 as b\n    from a\n    reshape [5, 4]\n"
     "    concat b, axis = -1\n", {},
     r"cannot concatenate tensors of shapes \(None, 5, 4\) and \(None, 4, 6\) along axis 2",
     6, "concat"),
    ("residual of a changed shape", MLP + "    residual:\n        dense 3\n"
     "    shortcut:\n        dense 4\n", {},
     r"residual: the body's output is added to its shortcut, but .*cannot add tensors of "
     r"shapes \(None, 3\) and \(None, 4\)", 3, "residual"),
    ("branches that cannot be added", MLP + "    branches add:\n        branch:\n"
     "            dense 3\n        branch:\n            dense 4\n", {},
     r"cannot add tensors of shapes \(None, 3\) and \(None, 4\)", 3, "add:"),
    ("kernel larger than the input", "model m():\n    input [4, 4, 3]\n    conv2d 8, 5\n", {},
     r"window of size 5 is larger than its input of size 4", 3, "conv2d"),
    ("kernel larger than a symbolic input, once given a value",
     "model m(H):\n    input [H, H, 3]\n    conv2d 8, 5\n", {"values": {"H": 3}},
     r"window of size 5 is larger than its input of size H \(with H = 3\)", 3, "conv2d"),
    ("pooling window larger than the input", "model m():\n    input [3, 3, 1]\n    maxpool2d 4\n",
     {}, r"window of size 4 is larger than its input of size 3", 3, "maxpool2d"),
    ("layer of the wrong rank", MLP + "    conv2d 3, 3\n", {},
     r"conv2d expects a 3-D input per example .*got 1-D \(None, n\)", 3, "conv2d"),
    ("reshape to another size", MLP + "    reshape [3, 5]\n", {},
     r"cannot reshape \(None, n\) \(n elements\) into \[3, 5\] \(15 elements\) "
     r"\(with n = 8, d = 512\)", 3, "reshape"),
    # ---- repeats and blocks
    ("symbolic repeat changing the shape", "model m(L):\n    input [8]\n    repeat L:\n"
     "        dense 4\n", {},
     r"repeat over the symbol L must keep the shape, but its body turns \(None, 8\) into "
     r"\(None, 4\)", 3, "repeat"),
    ("index of a symbolic repeat used", "model m(L):\n    input [8]\n    repeat L as i:\n"
     "        dense 8 + i\n", {},
     r"the index 'i' of a repeat over the symbol L cannot be used in its body", 4, "i"),
    ("repeat unrolled too often", MLP + "    repeat 100000:\n        dense 3\n", {},
     r"this repeat would unroll 100000 times", 3, "repeat"),
    ("recursion, direct", "block b(k):\n    dense k\n    b k\nmodel m():\n    input [3]\n"
     "    b 4\n", {}, r"recursion among blocks: b -> b", 3, "b k"),
    ("recursion, indirect", "block a(k):\n    b k\nblock b(k):\n    a k\nmodel m():\n"
     "    input [3]\n    a 4\n", {}, r"recursion among blocks: a -> b -> a", 4, "a k"),
    # ---- sizes
    ("fraction where a size is needed", MLP + "    dense 2.5\n", {},
     r"units': expected a positive whole number, got 5/2 \(not a whole number\)", 3, "2.5"),
    ("fraction once the symbols have values", MLP + "    dense d/3\n", {},
     r"argument 'units' = d/3: expected a positive whole number, got 512/3 \(not a whole "
     r"number\) \(with .*d = 512\)",
     3, "dense"),
    ("fraction with a value given", "model m(d):\n    input [4]\n    dense d/3\n",
     {"values": {"d": 512}}, r"got 512/3 \(not a whole number\) \(with d = 512\)",
     3, "dense"),
    ("zero size", MLP + "    dense 0\n", {},
     r"units': expected a positive whole number, got 0", 3, "0"),
    ("negative size", MLP + "    dense -3\n", {},
     r"units': expected a positive whole number, got -3", 3, "-3"),
    ("size zero once the symbols have values", MLP + "    dense n - 8\n", {},
     r"argument 'units' = n - 8: expected a positive whole number, got 0", 3, "dense"),
    ("an output size that is not whole once given values",
     "model m(d = 4):\n    input [d / 8]\n", {},
     r"layer 'input_layer': output dimension d/8 would be 1/2, not a positive whole number "
     r"\(with d = 4\)", 2, "input"),
    ("symbolic stride that is not whole once given a value",
     "model m(n = 3):\n    input [8, 8, 3]\n    conv2d 4, 3, stride = n / 2\n", {},
     r"layer 'conv2d': argument 'stride' = \[n/2, n/2\]: expected a positive whole number, "
     r"got 3/2 \(not a whole number\) \(with n = 3\)", 3, "conv2d"),
    ("symbolic repeat count that is not whole once given a value",
     "model m(n = 3):\n    input [8]\n    repeat n / 2:\n        dense 8\n", {},
     r"layer 'dense': it stands in a repeat of n/2 times, which would be 3/2", 4, "dense"),
    ("symbolic padding that is negative once given a value",
     "model m(n):\n    input [8, 8, 3]\n    zeropad2d n - 4\n", {"values": {"n": 3}},
     r"argument 'padding' = \[\[n - 4, n - 4\], \[n - 4, n - 4\]\]: expected a whole number "
     r">= 0, got -1", 3, "zeropad2d"),
    ("symbolic rate out of range once given a value",
     "model m(n = 3):\n    input [8]\n    dropout n / 4\n", {"values": {"n": 5}},
     r"argument 'rate' = n/4: expected a rate from 0 up to \(not including\) 1, got 5/4",
     3, "dropout"),
    ("the first cause is reported, not what it upsets later",
     "model m(n = 3):\n    input [n - 10]\n    reshape [-1, 2]\n", {},
     r"layer 'input_layer': output dimension n - 10 would be -7", 2, "input"),
    ("a size that is not a real number once given a value",
     "model m(n = 3):\n    input [sqrt(n - 10), 8, 3]\n    conv2d 4, 3\n", {},
     r"output dimension sqrt\(n - 10\) would be sqrt\(7\)\*I, not a positive whole number",
     2, "input"),
    ("zero input dimension", "model m():\n    input [0]\n", {},
     r"input dimension: expected a positive whole number, got 0", 2, "0]"),
    ("fraction in an input", "model m():\n    input [2.5]\n", {},
     r"input dimension: expected a positive whole number, got 5/2", 2, "2.5]"),
    ("negative repeats", MLP + "    repeat 0 - 1:\n        dense 3\n", {},
     r"repeat count: expected a whole number >= 0, got -1", 3, "0 - 1:"),
    ("zero default", "model m(n = 0):\n    input [n]\n", {},
     r"default of symbol 'n': expected a positive whole number, got 0", 1, "0)"),
    ("zero stride", "model m():\n    input [8, 8, 3]\n    conv2d 4, 3, stride = 0\n", {},
     r"stride': expected a positive whole number, got 0", 3, "0"),
    ("string where a size is needed", MLP + '    dense "a"\n', {},
     r'expected a positive whole number, got the string "a"', 3, '"a"'),
    ("list where a size is needed", MLP + "    dense [3, 4]\n", {},
     r"expected a positive whole number, got \[3, 4\]", 3, "[3, 4]"),
    ("a bad string escape is kept as written", MLP + '    dense "\\x"\n', {},
     r'got the string "\\x"', 3, '"'),
    ("dropout rate of 1.5", MLP + "    dropout 1.5\n", {},
     r"expected a rate from 0 up to \(not including\) 1, got 3/2", 3, "1.5"),
    ("a symbolic axis", MLP + "    layernorm axis = n\n", {},
     r"layernorm argument 'axis': an axis must be a whole number, got n", 3, "n"),
    ("a symbolic concatenation axis", MLP + "    dense 3 as y\n    concat y, axis = n\n", {},
     r"concat: an axis must be a whole number, got n", 4, "concat"),
    ("no axis", "convention torch\n" + MLP + "    layernorm axis = []\n", {},
     r"expected at least one axis, got \[\]", 4, "[]"),
    ("groups that do not divide", "model m():\n    input [8, 8, 3]\n"
     "    conv2d 4, 3, groups = 2\n", {},
     r"input channels 3 are not divisible by groups=2", 3, "conv2d"),
    # ---- arithmetic
    ("division by zero", MLP + "    dense n / 0\n", {}, r"division by zero", 3, "0"),
    ("division by a zero expression", MLP + "    dense n // (n - n)\n", {},
     r"division by zero", 3, "n - n)"),
    ("modulo zero", MLP + "    dense n % 0\n", {}, r"division by zero", 3, "0"),
    ("wrong number of function arguments", MLP + "    dense floor(n, 2)\n", {},
     r"floor\(\) takes 1 argument, got 2", 3, "floor"),
    ("arithmetic on a list", MLP + "    dense [3] + 1\n", {},
     r"expected a number, got \[3\]", 3, "[3]"),
    ("huge exponent", MLP + "    dense 10 ** 10 ** 10\n", {},
     r"the exponent 10000000000 is too large", 3, "10 ** 10"),
    ("huge literal", MLP + "    dense 1e99999999\n", {},
     r"the number 1e99999999 is too large", 3, "1e99999999"),
    # ---- structure
    ("layer before any input", "model m(n):\n    dense 3\n    input [n]\n", {},
     r"layer 'dense' has no input: declare one first", 2, "dense"),
    ("input inside a block", "block b():\n    input [3]\nmodel m():\n    input [3]\n    b\n", {},
     r"input can only be declared in a model's body", 2, "input"),
    ("input inside a residual", MLP + "    residual:\n        input [3]\n", {},
     r"input can only be declared in a model's body", 4, "input"),
    ("input inside a branch", MLP + "    branches concat:\n        branch:\n"
     "            input [3]\n        branch:\n            dense 2\n", {},
     r"input can only be declared in a model's body", 5, "input"),
    ("a model used as a layer", "model a():\n    input [3]\nmodel m():\n    input [3]\n    a\n",
     {"model": "m"}, r"'a' is a model, not a layer: declare it with `block a\(...\):`", 5, "a"),
    ("misspelt statement", "model m():\n    inptu [3]\n", {},
     r"unknown layer 'inptu' \(did you mean 'input'\?\)", 2, "inptu"),
    ("layout after layers", MLP + "    layout channels_first\n", {},
     r"layout must come at the start of a model", 3, "channels_first"),
    ("model without input", "model m():\n    let a = 3\n", {},
     r"model m has no input", 1, "m()"),
]


def _caret_target(err: SourceError, source: str) -> str:
    """What the source line holds from the error's column on."""
    return source.splitlines()[err.line - 1][err.column - 1:]


@pytest.mark.parametrize("source, kwargs, message, line, at",
                         [case[1:] for case in SOURCE_ERRORS],
                         ids=[case[0] for case in SOURCE_ERRORS])
def test_source_error(source, kwargs, message, line, at):
    with pytest.raises(SourceError, match=message) as info:
        analyze(source, **kwargs)
    err = info.value
    assert (err.line, _caret_target(err, source)[:len(at) or None]) == (line, at), str(err)
    if at == "":  # just past the end of the line
        assert err.column == len(source.splitlines()[line - 1]) + 1
    # The rendering: "line L, column C: message", the line, a caret under column C.
    head, shown, caret = str(err).split("\n")
    assert head == f"line {err.line}, column {err.column}: {err.message}"
    assert shown == "    " + source.splitlines()[line - 1]
    assert caret == "    " + " " * (err.column - 1) + "^"


def test_caret_under_a_line_indented_with_tabs():
    """Columns count characters; the line is shown with tabs expanded to 8 columns,
    and the caret stands under the same character."""
    source = "model m():\n\tinput [3]\n\tdense q\n"
    with pytest.raises(SourceError, match="undefined symbol 'q'") as info:
        analyze(source)
    err = info.value
    assert (err.line, err.column) == (3, 8)
    _, shown, caret = str(err).split("\n")
    assert shown == "    " + " " * 8 + "dense q"
    assert caret == "    " + " " * 14 + "^"
    with pytest.raises(SourceError, match=r"unexpected indentation .*a tab counts as 8"):
        analyze("model m():\n    input [3]\n\tdense 3\n")


def test_source_error_names_the_file(tmp_path):
    path = tmp_path / "bad.symp"
    path.write_text(MLP + "    conv2 3\n")
    with pytest.raises(SourceError) as info:
        analyze(path)
    assert str(info.value).startswith(f"{path}, line 3, column 5: unknown layer 'conv2'")


# Errors that are not at a place in the text: (id, source, keywords, type, message).
PLAIN_ERRORS = [
    ("no model", "block b():\n    dense 3\n", {}, SymparamError, r"no model in this file"),
    ("empty file", "", {}, SymparamError, r"no model in this file"),
    ("only comments", "# nothing here\n", {}, SymparamError, r"no model in this file"),
    ("a model that does not exist", "model alpha():\n    input [3]\n", {"model": "alpah"},
     UsageError, r"no model 'alpah' \(did you mean 'alpha'\?\); models here: alpha"),
    ("several models, none chosen", "model a():\n    input [3]\nmodel b():\n    input [3]\n", {},
     UsageError, r"this file has 2 models \(a, b\): choose one with --model"),
    ("unknown symbol given", MLP + "    dense 3\n", {"values": {"q": 3}}, UsageError,
     r"model m has no symbol 'q'; its symbols: n, d"),
    ("misspelt symbol given", MLP + "    dense 3\n", {"values": {"nn": 3}}, UsageError,
     r"no symbol 'nn' \(did you mean 'n'\?\)"),
    ("zero given", MLP + "    dense 3\n", {"values": {"n": 0}}, UsageError,
     r"symbol n must be a positive whole number, got 0"),
    ("negative given", MLP + "    dense 3\n", {"values": {"n": -4}}, UsageError,
     r"symbol n must be a positive whole number, got -4"),
    ("fraction given", MLP + "    dense 3\n", {"values": {"n": 2.5}}, UsageError,
     r"got 2.5"),
    ("text given", MLP + "    dense 3\n", {"values": {"n": "3 4"}}, UsageError,
     r"got '3 4'"),
    ("python given", MLP + "    dense 3\n", {"values": {"n": "__import__('os')"}}, UsageError,
     r"must be a positive whole number"),
    ("nothing given", MLP + "    dense 3\n", {"values": {"n": None}}, UsageError,
     r"got None"),
    ("a bool given", MLP + "    dense 3\n", {"values": {"n": True}}, UsageError, r"got True"),
    ("values not a mapping", MLP + "    dense 3\n", {"values": [3]}, UsageError,
     r"values must map symbol names to numbers"),
    ("unknown convention given", MLP + "    dense 3\n", {"convention": "tf"}, UsageError,
     r"unknown convention 'tf': use keras or torch"),
]


@pytest.mark.parametrize("source, kwargs, kind, message",
                         [case[1:] for case in PLAIN_ERRORS],
                         ids=[case[0] for case in PLAIN_ERRORS])
def test_plain_error(source, kwargs, kind, message):
    with pytest.raises(kind, match=message):
        analyze(source, **kwargs)


@pytest.mark.parametrize("source", [123, None, b"model m():\n", ["model"]])
def test_analyze_of_something_else_than_text(source):
    with pytest.raises(UsageError, match=r"analyze\(\) takes source text, a path or a parsed "
                                         r"document, not "):
        analyze(source)


def test_values_as_digits_are_accepted():
    stats = analyze(MLP + "    dense 3\n", values={"n": "16"})
    assert stats.value(stats.total) == 3 * (16 + 1)


def test_a_symbolic_check_waits_for_values():
    """With no value, a kernel that may be too large is not an error; the same
    model with a large enough value gives the textbook count."""
    source = "model m(H):\n    input [H, H, 3]\n    conv2d 8, 5\n"
    stats = analyze(source)
    assert stats.value(stats.total) == 8 * (5 * 5 * 3 + 1)
    five = analyze(source, values={"H": 5})
    assert five.shape_at(five.layers[-1].output_shape) == (1, 1, 8)


def test_missing_file():
    with pytest.raises(SymparamError, match=r"no such file: .*nope\.symp"):
        analyze("/nonexistent/nope.symp")


def test_deep_nesting_is_an_error_not_a_crash():
    deep = MLP + "    dense " + "(" * 5000 + "3" + ")" * 5000 + "\n"
    try:
        stats = analyze(deep)
    except SymparamError as err:
        assert "nested too deeply" in str(err)
    else:
        assert stats.value(stats.total) == 3 * (8 + 1)


# ---- the command line: one message, a non-zero exit, no traceback ---------------------

@pytest.mark.parametrize("text, message", [
    (MLP + "    conv2 3, 3\n", "unknown layer 'conv2'"),
    ("model m(n)\n    input [n]\n", "syntax error"),
    (MLP + "    dense d/3\n", "got 512/3"),
])
def test_cli_reports_one_message_and_fails(tmp_path, text, message):
    path = tmp_path / "bad.symp"
    path.write_text(text)
    result = CliRunner().invoke(main, ["count", str(path)])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in result.output
    assert "Traceback" not in result.output
    assert re.search(r"\n +\^", result.output), result.output


def test_cli_bad_set_value(tmp_path):
    path = tmp_path / "m.symp"
    path.write_text(MLP + "    dense 3\n")
    for bad in ("q=3", "n=0"):
        result = CliRunner().invoke(main, ["count", str(path), "--set", bad])
        assert result.exit_code != 0, bad
        assert "Traceback" not in result.output


# ---- fuzzing: mutated examples raise SymparamError or nothing else ------------------

_WEIRD = ["0", "-1", "2.5", "n", "n / 2", "n - 10", "sqrt(n - 10)", "same", "true", "none",
          '"x"', "[]", "[2, 2]", "[[1, 2], [3, 4]]", "[n, 2]", "[-1]", "[1, 2, 3, 4]", "x"]
_SHAPES = ["[8]", "[8, 8, 3]", "[4, 8, 8, 3]", "[n, n, 3]", "[n - 10]", "[]"]


def test_fuzz_every_layer_argument_with_odd_values():
    """Every argument of every layer kind given each odd value, on an input of a random
    rank, in a random convention, with the symbol's value making some sizes negative or
    not real: a SymparamError or a result, nothing else."""
    from symparam.layers.base import REGISTRY
    rng = random.Random(7)
    kinds = sorted({kind.names[0]: kind for kind in REGISTRY.values()}.items())
    for name, kind in kinds:
        for arg in [a.name for a in kind.args] or ["axis"]:
            for weird in _WEIRD:
                text = (f"convention {rng.choice(['keras', 'torch'])}\nmodel m(n = 3):\n"
                        f"    input {rng.choice(_SHAPES)} as x\n    {name} {arg} = {weird}\n")
                try:
                    stats = analyze(text)
                    stats.total, stats.buffers
                except SymparamError:
                    pass
                except Exception as err:  # pragma: no cover - what this test looks for
                    pytest.fail(f"{type(err).__name__}: {err}\n{text}")


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    op = rng.randrange(7)
    if op <= 3 and text:
        i = rng.randrange(len(text))
        if op == 0:      # delete a character
            return text[:i] + text[i + 1:]
        if op == 1:      # duplicate a character
            return text[:i] + text[i] + text[i:]
        if op == 2:      # swap two neighbours
            return text[:i] + text[i + 1:i + 2] + text[i] + text[i + 2:]
        return text[:i] + rng.choice("()[],:=*/-+.0 9\t\n#\"as_") + text[i:]  # insert one
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if op == 4:          # delete a line
        del lines[i]
    elif op == 5:        # duplicate a line
        lines.insert(i, lines[i])
    else:                # swap two lines
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _examples():
    return [(p.name, p.read_text()) for p in sorted(EXAMPLES.glob("*.symp"))]


def test_fuzz_mutated_examples_raise_only_symparam_errors():
    rng = random.Random(20261121)
    examples = _examples()
    assert examples
    outcomes = {"ok": 0, "error": 0}
    for case in range(400):
        name, text = examples[case % len(examples)]
        for _ in range(rng.randrange(1, 4)):
            text = _mutate(text, rng)
        models = list(parse(_examples()[case % len(examples)][1]).models)
        try:
            stats = analyze(text, model=models[0] if len(models) > 1 else None)
            stats.total, stats.value(stats.total)  # the totals must build too
            outcomes["ok"] += 1
        except SymparamError as err:
            rendered = str(err)  # rendering never fails either
            assert rendered
            if isinstance(err, SourceError) and err.line is not None:
                assert 1 <= err.line <= text.count("\n") + 1, (name, text, rendered)
            outcomes["error"] += 1
        except Exception as err:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"{type(err).__name__} from a mutation of {name}: {err}\n{text}")
    # Both kinds of outcome occur: the mutations are neither all harmless nor all fatal.
    assert outcomes["ok"] > 20 and outcomes["error"] > 20, outcomes


@pytest.mark.parametrize("src, values, expected, line", [
    ("model m(n = 3):\n    input [3]\n    residual:\n        dense n\n", {"n": 4},
     r"residual \(the body's output is added to its input, as it has no shortcut\): "
     r"cannot add tensors of shapes \(None, n\) and \(None, 3\): n must equal 3, or n be 1 \(with n = 4\)",
     3),
    ("model m(n = 3):\n    input [3]\n    branches add:\n        branch:\n            dense n\n"
     "        branch:\n            dense 3\n", {"n": 5},
     r"branches add \(the outputs of its 2 branches\): cannot add tensors of shapes "
     r"\(None, n\) and \(None, 3\)", 3),
    ("model m(n = 3):\n    input [3] as a\n    dense n\n    add a\n", {"n": 2},
     r"^cannot add tensors of shapes \(None, n\) and \(None, 3\): n must equal 3", 4),
])
def test_merge_checks_given_values_name_their_statement_and_shapes(src, values, expected, line):
    """A merge that is fine for some values and not others fails once the values are
    given, saying which statement merges which shapes."""
    analyze(src)  # the defaults agree
    with pytest.raises(SourceError) as err:
        analyze(src, values=values)
    assert re.search(expected, err.value.message), err.value.message
    assert err.value.line == line


@pytest.mark.parametrize("src, expected", [
    ("model m():\n    input [20, 13]\n    lstm 7, bidirectional = true, merge_mode = none\n",
     "merge_mode = none gives two separate outputs"),
    ("model m(a = 3):\n    input [a, a]\n    layernorm axis = [1, 1]\n",
     r"axis \[1, 1\] names the same axis more than once"),
    ("model m(a = 3):\n    input [a, a]\n    layernorm axis = [1, -2]\n",
     r"axis \[1, -2\] names the same axis more than once"),
    ("model m():\n    input [3]\n    dense " + "9" * 5000 + "\n",
     "this number has 5,000 digits; at most 1,000 are allowed"),
    ("model m(a = " + "9" * 5000 + "):\n    input [a]\n    dense 2\n",
     "this number has 5,000 digits"),
])
def test_found_in_review_are_clear_errors(src, expected):
    """Found by a review: Keras's merge_mode=None (two outputs), a repeated axis (Keras
    would build a weight per repeat), and numbers past Python's 4,300-digit limit were
    accepted silently or raised a Python error."""
    with pytest.raises(SourceError, match=expected):
        analyze(src)


def test_cli_bad_stdin_and_huge_values_are_clear_errors():
    runner = CliRunner()
    result = runner.invoke(main, ["count", "-"], input=b"\xff\xfe model")
    assert result.exit_code == 2 and "standard input is not UTF-8 text" in result.output
    result = runner.invoke(main, ["count", "--example", "seed000", "--set", "n=" + "9" * 5000])
    assert result.exit_code == 2
    assert "(5,000 characters)' has more than 1,000 digits (MAX_DIGITS)" in result.output
    with pytest.raises(UsageError, match="too long"):
        analyze("model m(n):\n    input [n]\n    dense 2\n", values={"n": "9" * 5000})
