"""Issue 8 follow-up: expressions without arbitrary limits, messages of bounded length.

A chain of one precedence level (`a + b + ...`) is one level of nesting however long,
and is parsed, evaluated and read back without recursion; a symbol's exponent (2**k)
is allowed, its value bounded by MAX_DIGITS at the given values; and an error message
stays short whatever the input (a long formula or line shown as a window around the
caret, nested blocks counted past the innermost few, huge values through values.show).

Each case runs under a watchdog (signal.alarm): it guards against a hang, not a speed
target. Counts come from PyTorch (torch.nn.Linear) or the dense rule u(n + 1).
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import symparam
from symparam import limits
from symparam.cli import main
from symparam.errors import SymparamError
from symparam.render import read_formula
from test_hostile_analysis import watchdog

WATCHDOG = 120  # seconds: a hang, not a slow run, on a shared machine
BOUND = 1000  # characters an error message may take, whatever the input


def run(tmp_path, text: str, *args: str):
    path = tmp_path / "m.symp"
    path.write_text(text, encoding="utf-8")
    with watchdog(WATCHDOG):
        return CliRunner().invoke(main, [*args, str(path)], catch_exceptions=False)


def linear_params(n_in: int, n_out: int) -> int:
    torch = pytest.importorskip("torch")
    return sum(p.numel() for p in torch.nn.Linear(n_in, n_out).parameters())


# ---- 1. a flat sum is not nesting ----------------------------------------------------

def test_a_sum_of_4000_terms_counts_right(tmp_path):
    """dense 1 + 1 + ... (4,000 terms) on 3 inputs, and d + d + ... - 2*d + 3 at d = 3
    (16,000 tokens in all, within MAX_TOKENS)."""
    ones = " + ".join(["1"] * 4000)
    ds = " + ".join(["d"] * 4000) + " - 2*d + 3"
    text = f"model m(d = 3):\n    input [d]\n    dense {ones}\n    dense {ds}\n"
    result = run(tmp_path, text, "count", "--json")
    assert result.exit_code == 0, result.output[:BOUND]
    want = linear_params(3, 4000) + linear_params(4000, 3998 * 3 + 3)
    assert json.loads(result.output)["total"]["value"] == want


def test_101_chained_operators_are_one_level(tmp_path):
    text = "model m(d = 3):\n    input [d]\n    dense " + " + ".join(["d"] * 101) + "\n"
    result = run(tmp_path, text, "count", "--json")
    assert result.exit_code == 0, result.output[:BOUND]
    assert json.loads(result.output)["total"]["value"] == linear_params(3, 303)


def test_101_nested_brackets_are_still_refused_with_the_line(tmp_path):
    text = "model m(d = 3):\n    input [d]\n    dense " + "(" * 101 + "d" + ")" * 101 + "\n"
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert "line 3, column" in result.output
    assert (f"nested too deeply: more than {limits.MAX_NESTING} levels" in result.output)
    assert "Traceback" not in result.output


def test_a_total_of_thousands_of_terms_reads_back(tmp_path):
    """input [1*p0 + 2*p1 + ... ] over 1,500 symbols, then dense 3: the total printed by
    count --json is a sum of 1,500 terms, which read_formula reads back exactly."""
    n = 1500
    params = ", ".join(f"p{i} = {i % 7 + 1}" for i in range(n))
    width = " + ".join(f"{i % 5 + 1}*p{i}" for i in range(n))
    result = run(tmp_path, f"model m({params}):\n    input [{width}]\n    dense 3\n",
                 "count", "--json")
    assert result.exit_code == 0, result.output[:BOUND]
    data = json.loads(result.output)
    with watchdog(WATCHDOG):
        total = read_formula(data["total"]["formula"], data["symbols"])
    assert len(total.free_symbols) == n
    values = {s: data["symbols"][s.name] for s in total.free_symbols}
    inputs = sum((i % 5 + 1) * (i % 7 + 1) for i in range(n))
    assert total.xreplace(values) == data["total"]["value"] == linear_params(inputs, 3)


def test_a_10000_term_formula_reads_back_without_recursion():
    text = " + ".join(f"{i}*x" if i % 2 else f"(y - {i})" for i in range(1, 10001))
    with watchdog(WATCHDOG):
        total = read_formula(text, ["x", "y"])
    x, y = sorted(total.free_symbols, key=str)
    odd = sum(range(1, 10001, 2))
    even = sum(range(2, 10001, 2))
    assert total == odd * x + 5000 * y - even


# ---- 2. symbolic exponents -----------------------------------------------------------

def test_a_width_2_to_the_k_counts(tmp_path):
    text = "model p(k = 3, n = 4):\n    input [n]\n    dense 2**k\n"
    result = run(tmp_path, text, "count", "--json")
    assert result.exit_code == 0, result.output
    total = json.loads(result.output)["total"]
    assert total["formula"] == "2**k*(n + 1)"
    assert total["value"] == linear_params(4, 2 ** 3)


def test_a_sweep_of_2_to_the_k_is_refused_past_the_digit_limit(tmp_path):
    """k = 5,000 would give 2**5000 units: about 1,506 digits, refused before the grid."""
    text = "model p(k = 3, n = 4):\n    input [n]\n    dense 2**k\n"
    result = run(tmp_path, text, "sweep", "-g", "k=1..5000")
    assert result.exit_code == 2
    assert ("would have about 1,506 digits, more than the limit MAX_DIGITS = 1,000"
            in result.output)
    assert run(tmp_path, text, "sweep", "-g", "k=1..20").exit_code == 0


# ---- 3. messages of bounded length ---------------------------------------------------

def test_a_long_formulas_error_shows_a_window_around_the_column():
    text = "a + " * 7000 + "zz"
    with pytest.raises(SymparamError) as err:
        read_formula(text, ["a"])
    message = str(err.value)
    assert len(message) < BOUND
    assert message.startswith("bad formula: column 28001: unknown symbol zz")
    shown, caret = message.splitlines()[1:3]
    assert shown[caret.index("^"):].startswith("zz")


def test_a_long_formula_without_a_column_is_cut():
    """A formula given as a condition: the error has no column, and quotes the text."""
    from symparam.formulas import read_condition
    with pytest.raises(SymparamError) as err:
        read_condition("a + " * 7000 + "a", ["a"])
    assert len(str(err.value)) < BOUND
    assert str(err.value).startswith("bad condition: compare two expressions with ==")
    assert str(err.value).endswith("'a + a + a + a + a + a + a + a + a + a + a + a + a + a + "
                                   "a + a + a + a + a + a + a + a + a + a + a + '... "
                                   "(28,001 characters))")


def test_unknown_symbol_lists_a_few_of_many_symbols():
    with pytest.raises(SymparamError) as err:
        read_formula("zz", [f"a{i}" for i in range(3000)])
    assert len(str(err.value)) < BOUND
    assert "a19, ... (3,000 in all)" in str(err.value)


def test_nested_blocks_keep_the_innermost_few_and_count_the_rest(tmp_path):
    blocks = "".join(f"block b{i}(u):\n    b{i + 1} u\n" for i in range(100))
    text = blocks + "model m(d = 2):\n    input [d]\n    b0 d\n"
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert len(result.output) < BOUND, result.output
    assert ("(in block 'b99' used at line 198) (in block 'b98' used at line 196) "
            "(in block 'b97' used at line 194) (... in 96 more blocks) "
            "(in block 'b0' used at line 203)") in result.output


def test_a_huge_argument_value_is_not_printed(tmp_path):
    text = "model m(d = 2):\n    input [d]\n    dropout d ** 1000\n"
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert ("line 3, column 5: layer 'dropout': argument 'rate' = d**1000: expected a rate "
            "from 0 up to (not including) 1, got <a number of about 302 digits>"
            in result.output)
    assert len(result.output) < BOUND


@pytest.mark.parametrize("end, message", [
    ("zz", "line 3, column 100011: undefined symbol 'zz'"),
    (")", "line 3, column 100011: syntax error: unexpected ')'"),
])
def test_a_100000_character_line_is_shown_as_a_window(tmp_path, end, message):
    name = "d" * 17  # 20 characters a term, 10,000 tokens in all (MAX_TOKENS)
    text = f"model m({name} = 2):\n    input [{name}]\n    dense " + f"{name} + " * 5000 + \
        end + "\n"
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output) < BOUND
    shown, caret = result.output.splitlines()[1:3]
    assert shown[caret.index("^"):].startswith(end)


def test_the_api_error_is_bounded_too():
    with pytest.raises(SymparamError) as err:
        symparam.analyze("model m(d = 2):\n    input [d]\n    dense " + "d + " * 25000 + "zz\n")
    assert len(str(err.value)) < BOUND
