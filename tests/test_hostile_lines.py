"""Issue 8, the right line and the right answer: line ends and odd characters, checks
that depend on the symbols' values (merges, tie, reuse), layers that never reach the
output.

The lines asserted are the ones a text editor shows (lines end at \\n, \\r\\n or a lone
\\r only); the counts are the ones Keras 3 and PyTorch 2.13 give for the same models.
"""
from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

import symparam
from symparam.chars import CONTROL_NAMES, describe_char
from symparam.cli import main
from symparam.errors import SourceError

ROOT = Path(__file__).resolve().parents[1]

# Every character Python's str.splitlines() breaks a line at, but lark (and an editor)
# does not: a form feed, a vertical tab, the information separators, NEL, U+2028/2029.
SEPARATORS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
NAMES = {"\x0b": "LINE TABULATION", "\x0c": "FORM FEED", "\x1c": "INFORMATION SEPARATOR FOUR",
         "\x1d": "INFORMATION SEPARATOR THREE", "\x1e": "INFORMATION SEPARATOR TWO",
         "\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}

# A model with an error on its line 4 (`dense q`: q is not a symbol), column 11.
BAD_AT_4 = "model m(n = 2):\n    input [n]\n    dense 2\n    dense q\n"
Q_MESSAGE = "line 4, column 11: dense argument 'units': undefined symbol 'q'"


def _error(text: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        symparam.analyze(text)
    return info.value


def _valid_then_refused(src: str, **values):
    """The model analyzed at its defaults, and the error the given values cause."""
    stats = symparam.analyze(src)
    with pytest.raises(SourceError) as info:
        symparam.analyze(src, values=values)
    return stats, info.value


def _cli(args: list[str], stdin: bytes | None = None):
    """The command line in-process; its exit code and everything it printed."""
    result = CliRunner().invoke(main, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


def _all_ways(text: str, tmp_path: Path) -> list[str]:
    """The first line of the error from the API (analyze, parse), parse_file, and the
    command line reading the file and standard input, without the file name."""
    raw = text.encode("utf-8")
    f = tmp_path / "m.symp"
    f.write_bytes(raw)
    seen = [str(_error(text)).splitlines()[0]]
    for read in (lambda: symparam.analyze(symparam.parse(text)),
                 lambda: symparam.analyze(symparam.parse_file(f))):
        with pytest.raises(SourceError) as info:
            read()
        seen.append(str(info.value).splitlines()[0].replace(f"{f}, ", ""))
    for args, stdin, name in ((["count", str(f)], None, str(f)),
                              (["count", "-"], raw, "<stdin>")):
        code, out = _cli(args, stdin)
        assert code == 2
        first = out.splitlines()[0]
        assert first.startswith(f"error: {name}, "), out
        seen.append(first[len(f"error: {name}, "):])
    return seen


# ---- 1. lines -------------------------------------------------------------------------

@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_a_separator_in_a_comment_does_not_shift_the_line(sep, tmp_path):
    text = f"# a comment{sep}with an odd character\n" + BAD_AT_4  # the error: line 5
    expected = Q_MESSAGE.replace("line 4", "line 5")
    assert _all_ways(text, tmp_path) == [expected] * 5
    shown = str(_error(text)).splitlines()
    assert shown[1:] == ["        dense q", "              ^"]


def test_the_issue_form_feed_case():
    # "#\x0c\nmodel" was shown one line off: the caret must sit under line 2's text.
    err = _error("#\x0c\nmodel m(:\n")
    assert str(err).splitlines() == [
        "line 2, column 9: syntax error: unexpected ':' (expected ')', a name)",
        "    model m(:",
        "            ^"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_a_separator_in_code_is_named_at_its_line(sep, tmp_path):
    text = BAD_AT_4.replace("dense 2\n", f"dense 2{sep}\n")
    code = f"U+{ord(sep):04X}"
    expected = f"line 3, column 12: syntax error: unexpected character {code} ({NAMES[sep]})"
    assert _all_ways(text, tmp_path) == [expected] * 5
    # The line is shown with the character replaced, so nothing acts on the terminal.
    assert str(_error(text)).splitlines()[1:] == ["        dense 2\ufffd",
                                                  "               ^"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_a_separator_in_a_string_is_refused_where_it_stands(sep):
    err = _error(f'model m(n = 2 "a{sep}b"):\n    input [n]\n')
    assert (err.line, err.column) == (1, 17)
    assert err.message == (f"unexpected character U+{ord(sep):04X} ({NAMES[sep]}) "
                           f"in a string")


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_a_valid_model_with_separators_in_comments_counts(sep):
    s = symparam.analyze(f"# {sep} \nmodel m(n = 4):  # x{sep}y\n    input [n]\n"
                         f"    dense 2  # {sep}\n")
    assert s.value(s.total) == 10  # Dense(2) on 4 features: 4 * 2 + 2


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_ends_read_alike_everywhere(ending, tmp_path):
    text = BAD_AT_4.replace("\n", ending)
    assert _all_ways(text, tmp_path) == [Q_MESSAGE] * 5


def test_mixed_line_ends_count_one_line_each(tmp_path):
    # \r\n is one line end, a lone \r another, \n a third: the error is on line 4.
    text = "model m(n = 2):\r\n    input [n]\r    dense 2\n    dense q\r\n"
    assert _all_ways(text, tmp_path) == [Q_MESSAGE] * 5


def test_a_byte_order_mark_is_skipped(tmp_path):
    assert _all_ways("\ufeff" + BAD_AT_4, tmp_path) == [Q_MESSAGE] * 5


@pytest.mark.parametrize("char,name", [("\u200b", "ZERO WIDTH SPACE"),
                                       ("\u00a0", "NO-BREAK SPACE"),
                                       ("\x1b", "ESCAPE"), ("\x00", "NULL"),
                                       ("\u202e", "RIGHT-TO-LEFT OVERRIDE")])
def test_an_invisible_character_in_code_is_named(char, name):
    err = _error(f"model m(n = 2):\n    input [n]\n    dense{char} 2\n")
    assert (err.line, err.column) == (3, 10)
    assert err.message == f"syntax error: unexpected character U+{ord(char):04X} ({name})"


def test_a_visible_character_is_shown_with_its_name():
    err = _error("model m(n = 2):\n    input [n]\n    dense 2 \u00d7 n\n")
    assert err.message == "syntax error: unexpected character '\u00d7' (U+00D7 MULTIPLICATION SIGN)"


def test_a_control_character_in_a_comment_on_the_error_line_is_not_printed():
    err = _error("model m(n = 2):\n    input [n]\n    dense q  # \x1b[2J\x07\n")
    assert str(err).splitlines()[1] == "        dense q  # \ufffd[2J\ufffd"


def test_the_caret_lines_up_after_wide_characters():
    # Two CJK characters take four terminal columns: the caret sits under the x.
    err = _error('model m(n = 2 "\u6f22\u5b57" x):\n    input [n]\n')
    assert str(err).splitlines()[1:] == ['    model m(n = 2 "\u6f22\u5b57" x):',
                                         "                         ^"]


def test_control_names_are_unicode_names():
    # The table's names are Unicode's own aliases of the control characters.
    for code, name in CONTROL_NAMES.items():
        assert unicodedata.lookup(name) == chr(code), name
    assert describe_char("\x0c") == "U+000C (FORM FEED)"


def test_the_command_line_reads_a_cr_file_like_the_api(tmp_path):
    # The real console entry point, under a watchdog: exit 2 and the same message.
    f = tmp_path / "cr.symp"
    f.write_bytes(BAD_AT_4.replace("\n", "\r").encode())
    proc = subprocess.run([sys.executable, "-m", "symparam", "count", str(f)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: {f}, {Q_MESSAGE}", "        dense q",
                                        "              ^"]


# ---- 2. checks that depend on the symbols' values -------------------------------------
# Each model is valid when d = 12 (Keras and PyTorch build it) and invalid when d = 13.

ADD = "model m(d = 12):\n    input [d] as x\n    dense 12\n    add x\n"
TIE = "model m(d = 12):\n    input [d]\n    dense 12 as a\n    dense 12\n    dense 12, tie = a\n"
REUSE = "model m(d = 12):\n    input [d]\n    dense 12 as a\n    reuse a\n"
REUSE_BLOCK = ("block enc(h):\n    dense h\n    dense h\n\n"
               "model m(d = 12):\n    input [d]\n    enc 12 as e\n    reuse e\n")


def _keras_counts(keras) -> dict:
    """The same models built in Keras 3, counted by count_params()."""
    kl = keras.layers

    class Tied(kl.Layer):  # a Dense whose kernel is another Dense's (as Keras ties)
        def __init__(self, source, **kwargs):
            super().__init__(**kwargs)
            self.source = source

        def build(self, shape):
            self.bias = self.add_weight(shape=(12,), initializer="zeros")

        def call(self, x):
            return keras.ops.matmul(x, self.source.kernel) + self.bias

    out = {}
    x = keras.Input((12,))
    out["add"] = keras.Model(x, kl.Add()([kl.Dense(12)(x), x])).count_params()
    x = keras.Input((12,))
    a = kl.Dense(12)
    out["tie"] = keras.Model(x, Tied(a)(kl.Dense(12)(a(x)))).count_params()
    x = keras.Input((12,))
    a = kl.Dense(12)
    out["reuse"] = keras.Model(x, a(a(x))).count_params()
    x = keras.Input((12,))
    d1, d2 = kl.Dense(12), kl.Dense(12)
    out["reuse_block"] = keras.Model(x, d2(d1(d2(d1(x))))).count_params()
    return out


def _torch_counts(torch) -> dict:
    """The same models as PyTorch modules, counted by parameters() (a shared tensor
    once)."""
    def count(*modules):
        return sum(p.numel() for p in torch.nn.ModuleList(modules).parameters())
    nn = torch.nn
    a, b, c = nn.Linear(12, 12), nn.Linear(12, 12), nn.Linear(12, 12)
    c.weight = a.weight
    return {"add": count(nn.Linear(12, 12)), "tie": count(a, b, c),
            "reuse": count(nn.Linear(12, 12)),
            "reuse_block": count(nn.Linear(12, 12), nn.Linear(12, 12))}


SOURCES = {"add": ADD, "tie": TIE, "reuse": REUSE, "reuse_block": REUSE_BLOCK}


@pytest.mark.oracle
def test_value_dependent_models_count_as_the_frameworks_do(frameworks):
    expected = {"keras": _keras_counts(frameworks["keras"]),
                "torch": _torch_counts(frameworks["torch"])}
    for convention, counts in expected.items():
        for key, source in SOURCES.items():
            s = symparam.analyze(source, convention=convention)
            assert s.value(s.total) == counts[key], (convention, key)


@pytest.mark.oracle
def test_keras_refuses_the_add_with_13_features_as_symparam_does(frameworks):
    keras = frameworks["keras"]
    x = keras.Input((13,))
    with pytest.raises(ValueError, match="incompatible shapes"):
        keras.layers.Add()([keras.layers.Dense(12)(x), x])


@pytest.mark.parametrize("key, line, message", [
    ("add", 4, "cannot add tensors of shapes (None, 12) and (None, d): 12 must equal d, or d be 1"),
    ("tie", 5, "tie = a: dense's kernel of shape (12, 12) must have the shape of a's "
               "kernel (d, 12) or kernel (12, d) (transposed)"),
    ("reuse", 4, "reuse of 'a': here its kernel would be (12, 12) but it is (d, 12): the "
                 "input (None, 12) does not fit the layer made for (None, d)"),
    ("reuse_block", 8, "reuse of 'dense': here its kernel would be (12, 12) but it is "
                       "(d, 12): the input (None, 12) does not fit the layer made for "
                       "(None, d)"),
])
def test_values_that_break_the_check_are_refused_at_its_line(key, line, message, tmp_path):
    f = tmp_path / "m.symp"
    f.write_text(SOURCES[key])
    code, out = _cli(["count", str(f), "--set", "d=13"])
    assert code == 2
    assert out.splitlines()[0] == f"error: {f}, line {line}, column 5: {message} (with d = 13)"


def test_a_residual_and_branches_wait_for_the_values_too():
    res = "model m(d = 12):\n    input [d]\n    residual:\n        dense 12\n"
    br = ("model m(d = 12):\n    input [d]\n    branches add:\n        branch:\n"
          "            dense 12\n        branch:\n            dense d\n")
    # Dense(12) on 12 features: 156; the two branches: 156 each (Keras and PyTorch alike).
    (s1, err1), (s2, err2) = (_valid_then_refused(src, d=13) for src in (res, br))
    assert [s1.value(s1.total), s2.value(s2.total)] == [156, 312]
    assert (err1.line, err1.message) == (3, (
        "residual (the body's output is added to its input, as it has no shortcut): "
        "cannot add tensors of shapes (None, 12) and (None, d): 12 must equal d, or d "
        "be 1 (with d = 13)"))
    assert (err2.line, err2.message) == (3, (
        "branches add (the outputs of its 2 branches): cannot add tensors of shapes "
        "(None, 12) and (None, d): 12 must equal d, or d be 1 (with d = 13)"))


@pytest.mark.parametrize("body, message", [
    # (d and 2*d would broadcast at d = 1: that waits for the values.)
    ("input [2 * d + 2] as x\n    dense d + 1\n    add x",
     "add: cannot add tensors of shapes (None, d + 1) and (None, 2*d + 2)"),
    ("input [d, d] as x\n    dense d + 1\n    concat x, axis = 1",
     "concat: cannot concatenate tensors of shapes (None, d, d + 1) and (None, d, d) "
     "along axis 1"),
    ("input [d] as x\n    dense 12 as a\n    dense d ** 2 + 1\n    dense 12, tie = a",
     "tie = a: dense's kernel of shape (d**2 + 1, 12) matches no weight of 'a'"),
])
def test_shapes_that_can_never_agree_are_refused_at_once(body, message):
    err = _error(f"model m(d):\n    {body}\n")
    assert err.message.startswith(message)


def test_a_strided_body_added_to_its_input_broadcasts_only_where_it_is_1():
    # H and floor(H/2) are never equal (H >= 1), but merges broadcast: at H = 2 or 3 the
    # body's output is 1 x 1, which stretches over the input (Keras's Add and PyTorch's
    # + accept it). Every other H is refused once given, naming both shapes.
    src = ("model m(H = 2, C = 8):\n    input [H, H, C]\n    residual:\n"
           "        conv2d C, 3, padding = same\n        maxpool2d 2\n")
    s, err = _valid_then_refused(src, H=4)
    assert s.shape_at(s.layers[-1].output_shape) == (2, 2, 8)
    assert err.line == 3 and err.message.startswith(
        "residual (the body's output is added to its input, as it has no shortcut): "
        "cannot add tensors of shapes (None, floor(H/2), floor(H/2), C) and "
        "(None, H, H, C): floor(H/2) must equal H, or one of them be 1 (axis -3)")


def test_sizes_equal_for_some_values_only_wait_for_them():
    # Pooled by 16 then upsampled by 16: the input's size again when 16 divides H.
    src = ("model m(H = 64):\n    input [H, 4] as x\n    maxpool1d 16\n"
           "    upsampling1d 16\n    add x\n")
    s, err = _valid_then_refused(src, H=65)
    assert s.shape_at(s.layers[-1].output_shape) == (64, 4)
    assert err.line == 5 and "16*floor(H/16) must equal H" in err.message


def test_attention_key_and_value_steps_wait_for_the_values():
    # 12 key steps and T value steps agree when T = 12 (as any framework would take).
    src = ("model m(T = 12, d = 8):\n    input [12, d] as k\n    input [T, d] as v\n"
           "    attention 2, 4, key = k, value = v\n")
    s, err = _valid_then_refused(src, T=13)
    assert s.shape_at(s.layers[-1].output_shape) == (12, 8)
    assert (err.line, err.message) == (
        4, "attention: key and value steps 12 and T differ (with T = 13, d = 8)")


# ---- 3. layers that never reach the output --------------------------------------------

UNUSED = "model m(n = 8):\n    input [n] as x\n    dense 8 as unused\n    from x\n    dense 2\n"
NOTE_KERAS = ("Note: dense 'unused' (line 3) does not reach the output: Keras leaves it out "
              "of the model (and out of these totals); PyTorch counts it as a registered "
              "module.")
NOTE_TORCH = ("Note: dense 'unused' (line 3) does not reach the output: PyTorch counts it as "
              "a registered module (in these totals); Keras leaves it out of the model.")


@pytest.mark.oracle
def test_an_unreached_layer_counts_as_each_framework_counts_it(frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    x = keras.Input((8,))
    keras.layers.Dense(8)(x)  # built, called, but not on the way to the output
    expected_keras = keras.Model(x, keras.layers.Dense(2)(x)).count_params()
    net = torch.nn.ModuleDict({"unused": torch.nn.Linear(8, 8), "dense": torch.nn.Linear(8, 2)})
    expected_torch = sum(p.numel() for p in net.parameters())
    assert (expected_keras, expected_torch) == (18, 90)  # what the issue reported
    for convention, expected in (("keras", expected_keras), ("torch", expected_torch)):
        s = symparam.analyze(UNUSED, convention=convention)
        assert (s.value(s.total), s.value(s.trainable)) == (expected, expected)
        assert s.unreached == ("unused",) and s.output == "dense"


@pytest.mark.oracle
def test_a_layer_reused_on_the_path_stays_in_the_keras_model(frameworks):
    # Its first application leads nowhere, its second reaches the output: Keras's model
    # holds the layer (through the second call), so its weights count, once.
    keras = frameworks["keras"]
    x = keras.Input((8,))
    a = keras.layers.Dense(4)
    a(x)
    expected = keras.Model(x, keras.layers.Dense(2)(a(x))).count_params()
    s = symparam.analyze("model m():\n    input [8] as x\n    dense 4 as a\n    from x\n"
                         "    reuse a\n    dense 2\n")
    assert s.value(s.total) == expected == 46 and s.unreached == ()


@pytest.mark.oracle
@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_the_oracle_agrees_on_a_dead_branch(convention, frameworks):
    from oracle.check import check
    # The output comes from `a` through a batchnorm; the add and what follows it lead
    # nowhere (a weightless add included).
    src = ("model m(n = 6):\n    input [n] as x\n    dense 8 as a\n    batchnorm as bn\n"
           "    from x\n    dense 8\n    add a\n    dense 3 as dead\n    dense 5\n"
           "    from bn\n    dense 2\n")
    assert check(src, convention) == []
    s = symparam.analyze(src, convention=convention)
    assert s.unreached == ("dense", "add", "dead", "dense_1")


@pytest.mark.parametrize("convention, total, note", [("keras", "18", NOTE_KERAS),
                                                     ("torch", "90", NOTE_TORCH)])
def test_count_and_summary_say_so(convention, total, note, tmp_path):
    f = tmp_path / "m.symp"
    f.write_text(UNUSED)
    for command in ("count", "summary", "cost"):
        code, out = _cli([command, str(f), "--convention", convention])
        assert code == 0 and out.rstrip().splitlines()[-1] == note
    _, out = _cli(["summary", str(f), "--convention", convention])
    assert f"Total params: {total}" in out
    # Keras's own summary has no row for the layer; PyTorch's module list has one.
    assert ("unused (" in out) == (convention == "torch")


def test_json_derive_costs_and_memory_agree_with_the_counts(tmp_path):
    import json
    from symparam.analysis.memory import activation_memory
    from symparam.render.document import derivation
    keras, torch = (symparam.analyze(UNUSED, convention=c) for c in ("keras", "torch"))
    d = json.loads(_cli(["count", "-", "--json"], UNUSED.encode())[1])
    assert d["total"]["value"] == 18 and d["unreached"] == ["unused"]
    assert d["notes"] == [NOTE_KERAS]
    assert [layer["in_model"] for layer in d["layers"]] == [True, False, True]
    assert d["layers"][1]["params"]["value"] == 72  # the layer's own count is still given
    # Dense(2) on 8 features: 16 multiply-accumulates; Dense(8): 64 more in PyTorch.
    assert (keras.value(keras.macs), torch.value(torch.macs)) == (16, 80)
    # Outputs kept: 2 values per example in Keras, 8 + 2 in PyTorch.
    assert activation_memory(keras, batch=1).total == 4 * 2
    assert activation_memory(torch, batch=1).total == 4 * 10
    text = derivation(keras, "text")
    assert "unused (Dense)" not in text and NOTE_KERAS in text and "= 18" in text
    text = derivation(torch, "text")
    assert "unused (Linear), line 3" in text and NOTE_TORCH in text and "= 90" in text


@pytest.mark.oracle
def test_a_symbolic_repeat_that_keeps_the_shape_at_the_values_counts(frameworks):
    # L copies of Dense(12) on 12 features: as PyTorch counts three Linear(12, 12).
    torch = frameworks["torch"]
    expected = sum(p.numel() for p in torch.nn.Sequential(
        *[torch.nn.Linear(12, 12) for _ in range(3)]).parameters())
    src = "model m(d = 12, L = 3):\n    input [d]\n    repeat L:\n        dense 12\n"
    s, err = _valid_then_refused(src, d=13)
    assert s.value(s.total) == expected == 468
    assert (err.line, err.message) == (3, (
        "repeat L: the repeated body must keep the shape (None, d), but gives (None, 12): "
        "d vs 12 (with d = 13, L = 3)"))


def test_diff_of_the_two_conventions_names_the_unreached_layer(tmp_path):
    f = tmp_path / "m.symp"
    f.write_text(UNUSED)
    code, out = _cli(["diff", str(f), "--convention", "keras", "--against", "torch"])
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.startswith(" unused ")]
    # Keras 18 - PyTorch 90: the 72 of the layer Keras leaves out, on its own row.
    assert rows == [["unused", "dense", "added", "(B", "only)", "(none)", "8*(n", "+", "1)",
                     "-8(n", "+", "1)", "=", "-72", "0", "0"]]
    assert "params         -8(n + 1) = -72" in out


def test_the_note_names_the_block_instance_a_layer_is_in():
    src = ("block enc(h):\n    dense h\n\nmodel m(n = 4):\n    input [n] as x\n"
           "    enc 3 as e\n    from x\n    dense 2\n")
    from symparam.render.fmt import unreached_note
    assert unreached_note(symparam.analyze(src)).startswith(
        "Note: dense 'dense' (line 2, in e) does not reach the output:")
