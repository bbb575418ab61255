"""Issue 8, "other wrong answers found by users": diff at each side's own defaults,
solve proposing only what `count` accepts, sweep marking what `count` refuses, and
leading terms that stay exact when floor and ceiling appear.

Ground truth comes from outside the analysis code: `count --set` (the command a user
checks an answer with), published parameter counts (LLaMA-2-7B 6,738,415,616 and
Mistral-7B 7,241,732,096, as transformers' LlamaForCausalLM and MistralForCausalLM
count them; checked on the meta device when transformers is installed), and sums
written out by hand.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import symparam
from symparam.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "benchmarks" / "models"
LLAMA, MISTRAL = str(MODELS / "llama2_7b.symp"), str(MODELS / "mistral_7b.symp")
LLAMA_PARAMS, MISTRAL_PARAMS = 6_738_415_616, 7_241_732_096  # transformers' counts

ISSUE_SOLVE = "model m(d = 63, h = 3):\n    input [d]\n    dense d / h\n"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def count_params(path, **values) -> int | None:
    """What `count --set` prints for the total, or None when it refuses the values."""
    sets = ",".join(f"{k}={v}" for k, v in values.items())
    result = run("count", path, *(["--set", sets] if sets else []), "--json")
    if result.exit_code != 0:
        assert result.exit_code == 2 and "Traceback" not in result.output
        return None
    return json.loads(result.output)["total"]["value"]


# ---- diff: each side at its own defaults ------------------------------------------

def test_diff_uses_each_sides_own_defaults(tmp_path):
    a = write(tmp_path, "a.symp", "model m(n = 4, h = 2):\n    input [n]\n    dense h\n")
    b = write(tmp_path, "b.symp", "model m(n = 4, h = 3):\n    input [n]\n    dense h\n")
    result = run("diff", a, b)
    assert result.exit_code == 0, result.output
    # A has 2 * (4 + 1) = 10 parameters, B 3 * (4 + 1) = 15.
    assert "no layer differs" not in result.output
    assert "  params         (h_A - h_B)(n + 1) = -5" in result.output
    assert "expanded: h_A*n + h_A - h_B*n - h_B" in result.output
    assert "  h: A = 2, B = 3  (written h_A and h_B)" in result.output


def test_diff_set_applies_to_both_sides(tmp_path):
    a = write(tmp_path, "a.symp", "model m(n = 4, h = 2):\n    input [n]\n    dense h\n")
    b = write(tmp_path, "b.symp", "model m(n = 4, h = 3):\n    input [n]\n    dense h\n")
    result = run("diff", a, b, "--set", "h=7")
    assert result.exit_code == 0, result.output
    assert "no layer differs" in result.output and "h_A" not in result.output


def test_llama2_and_mistral_counts_are_the_published_ones():
    assert count_params(LLAMA) == LLAMA_PARAMS
    assert count_params(MISTRAL) == MISTRAL_PARAMS


def test_diff_llama2_against_mistral():
    result = run("diff", LLAMA, MISTRAL)
    assert result.exit_code == 0, result.output
    delta = LLAMA_PARAMS - MISTRAL_PARAMS
    assert delta == -503_316_480
    total = next(line for line in result.output.splitlines()
                 if line.startswith("  params "))
    assert total.endswith(f" = {delta:,}")
    d = symparam.analysis.diff.diff(symparam.analyze(Path(LLAMA)), symparam.analyze(Path(MISTRAL)))
    assert d.values["params"] == delta
    assert [(s.name, a, b) for s, a, b in d.split] == [("kv_heads", 32, 8), ("ff", 11008, 14336)]


def test_llama2_and_mistral_against_transformers():
    torch = pytest.importorskip("torch")
    from oracle.hf import import_transformers  # torchvision first, as transformers needs
    transformers = import_transformers()
    common = dict(vocab_size=32000, hidden_size=4096, num_hidden_layers=32,
                  num_attention_heads=32, tie_word_embeddings=False)
    configs = [transformers.LlamaConfig(intermediate_size=11008, num_key_value_heads=32,
                                        **common),
               transformers.MistralConfig(intermediate_size=14336, num_key_value_heads=8,
                                          **common)]
    counts = []
    for cfg in configs:
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(cfg)
        counts.append(sum(p.numel() for p in model.parameters()))
    assert counts == [count_params(LLAMA), count_params(MISTRAL)]


# ---- solve: only values `count` accepts, counted as `count` counts them ------------

def offered(output: str) -> list[tuple[str, int, int]]:
    """(side, value, count) of each row of solve's table."""
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in ("below", "above", "exact") and parts[2] == "=":
            rows.append((parts[0], int(parts[3].replace(",", "")),
                         int(parts[4].replace(",", ""))))
    return rows


def test_solve_offers_only_what_count_accepts(tmp_path):
    path = write(tmp_path, "m.symp", ISSUE_SOLVE)
    result = run("solve", path, "--for", "d", "--target", "params=1000")
    assert result.exit_code == 0, result.output
    rows = offered(result.output)
    assert count_params(path, d=55) is None            # the value the issue saw offered
    assert 55 not in [v for _, v, _ in rows]
    assert [(side, v) for side, v, _ in rows] == [("below", 54), ("above", 57)]
    for _, v, n in rows:                                # exactly what count prints
        assert n == count_params(path, d=v)
    # Between them no admissible value: count refuses 55 and 56.
    assert [count_params(path, d=v) for v in (55, 56)] == [None, None]


def test_solve_without_model_checks_never_offers_a_fractional_count(tmp_path):
    path = write(tmp_path, "m.symp", ISSUE_SOLVE)
    result = run("solve", path, "--for", "d", "--target", "params=1000",
                 "--ignore-model-checks")
    assert result.exit_code == 0, result.output
    # d (d + 1) / 3 is whole only where d / 3 is a size: 54 and 57, not 55 (3080/3).
    assert [v for _, v, _ in offered(result.output)] == [54, 57]
    assert "/" not in "".join(line for line in result.output.splitlines()
                              if line.startswith(("below", "above")))


def test_solve_respects_heads_as_count_does():
    # Mistral's layout with 64 heads: d must be a multiple of 64 (the query heads) and
    # of 8 (the key/value heads' width d * 8 / 64).
    result = run("solve", MISTRAL, "--for", "d", "--target", "params=7e9", "--set", "heads=64")
    assert result.exit_code == 0, result.output
    rows = offered(result.output)
    assert [(side, v % 64) for side, v, _ in rows] == [("below", 0), ("above", 0)]
    lo, hi = rows[0][1], rows[1][1]
    assert hi - lo == 64
    for v in range(lo + 1, hi):                         # nothing admissible in between
        assert v % 64 != 0
    for _, v, n in rows:
        assert n == count_params(MISTRAL, d=v, heads=64)
    assert count_params(MISTRAL, d=lo + 8, heads=64) is None


def test_solve_follows_a_default_that_uses_the_symbol(tmp_path):
    # ff = 4 * d: `count --set d=N` has ff = 4N, and so must solve.
    path = write(tmp_path, "m.symp", "model m(n = 10, d = 8, ff = 4 * d):\n"
                                     "    input [n]\n    dense d\n    dense ff\n")
    result = run("solve", path, "--for", "d", "--target", "params=10000")
    assert result.exit_code == 0, result.output
    assert "ff = 4*d (its default)" in result.output
    rows = offered(result.output)
    assert rows and all(n == count_params(path, d=v) for _, v, n in rows)
    # by hand: d (n + 1) + 4d (d + 1) with n = 10
    assert all(n == v * 11 + 4 * v * (v + 1) for _, v, n in rows)


# ---- sweep: points `count` refuses are marked, never counted -----------------------

def test_sweep_marks_what_count_refuses(tmp_path):
    path = write(tmp_path, "m.symp", ISSUE_SOLVE)
    result = run("sweep", path, "-g", "d=54..60", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    for row in rows:
        counted = count_params(path, d=row["d"])
        if counted is None:
            assert row["params"] == "" and row["admissible"] == "no"
            assert row["refused"] == "d/3 is a whole number (layer 'dense', line 3)"
        else:
            assert int(row["params"]) == counted and row["admissible"] == "yes"
    assert [r["d"] for r in rows if r["admissible"] == "yes"] == ["54", "57", "60"]
    assert "4 of 7 points break the model's condition d/3 is a whole number" in result.stderr


def test_sweep_json_and_table_say_it(tmp_path):
    path = write(tmp_path, "m.symp", ISSUE_SOLVE)
    data = json.loads(run("sweep", path, "-g", "d=54,55", "--format", "json").stdout)
    assert data == [
        {"d": 54, "params": 990, "admissible": True, "refused": None},
        {"d": 55, "params": None, "admissible": False,
         "refused": "d/3 is a whole number (layer 'dense', line 3)"}]
    table = run("sweep", path, "-g", "d=54,55").stdout.splitlines()
    assert table[2].split()[:3] == ["55", "-", "no"]
    assert "3080/3" not in run("sweep", path, "-g", "d=55", "--format", "markdown").stdout


def swept_as_count_counts(path: str, symbol: str, values: str) -> list[str]:
    """Sweep one symbol as CSV; every row's params must be what `count --set` prints
    (empty where it refuses). Returns the admissible column."""
    rows = list(csv.DictReader(io.StringIO(
        run("sweep", path, "-g", f"{symbol}={values}", "--format", "csv").stdout)))
    for row in rows:
        counted = count_params(path, **{symbol: row[symbol]})
        assert (row["params"] or None) == (None if counted is None else str(counted))
    return [r["admissible"] for r in rows]


def test_sweep_checks_a_deferred_argument(tmp_path):
    # A stride given as a formula: count refuses odd s (the stride s/2 is no integer),
    # which no output size shows (the output length is a floor).
    path = write(tmp_path, "m.symp", "model m(T = 64, s = 2):\n    input [T, 1]\n"
                                     "    conv1d 1, 3, stride = s / 2\n    flatten\n"
                                     "    dense 1\n")
    assert swept_as_count_counts(path, "s", "2..5") == ["yes", "no", "yes", "no"]


@pytest.mark.parametrize("marker, source", [
    ("The issue's model, `dense d / h`", ISSUE_SOLVE),
    ("**Floor and ceiling stay exact.**",
     "model m(d = 96):\n    input [d]\n    dense 256 * ceil(d / 96)\n")])
def test_analysis_md_examples_on_the_issues_models_are_real(tmp_path, marker, source):
    import re
    import shlex
    import textwrap

    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    section = text[text.index(marker):]
    assert re.search(r"```symparam\n(.*?)```", section, re.S).group(1) == source
    shown = re.search(r"```\n\n((?:    .*\n|\n)+)", section).group(1)
    command, _, output = textwrap.dedent(shown).partition("\n")
    path = write(tmp_path, "m.symp", source)
    args = [path if a == "m.symp" else a for a in shlex.split(command)[2:]]
    result = run(*args)
    assert result.exit_code == 0
    # The page shows the output, or its beginning.
    assert output.strip() and result.output.startswith(output.rstrip("\n")), result.output


# ---- leading: exact terms when floor and ceiling appear ----------------------------

CEIL_MODEL = "model m(d = 96):\n    input [d]\n    dense 256 * ceil(d / 96)\n"


def test_leading_with_ceiling_is_not_printed_as_exact(tmp_path):
    path = write(tmp_path, "c.symp", CEIL_MODEL)
    result = run("leading", path, "--in", "d")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  degree 1: 8*d/3" not in lines                 # the issue's wrong line
    assert lines[1:5] == [
        "  degree 2: 8*d**2/3",
        "  degree 1: 256*d*ε1 + 8*d/3   (between 8*d/3 and 776*d/3)",
        "  degree 0: 256*ε1             (between 0 and 256)",
        "  where ε1 = ceiling(d/96) - d/96; each 0 <= ε < 1 (floor and ceiling written as "
        "their argument and a bounded error: every term is exact)"]


def test_leading_terms_add_up_to_the_count_exactly(tmp_path):
    import sympy

    from symparam.analysis.leading import leading

    s = symparam.analyze(CEIL_MODEL)
    r = leading(s, ["d"])
    (eps, _), = r.errors
    d = s.symbols[0]
    total = sum(t for _, t in r.orders)
    for n in (1, 95, 96, 97, 1000, 12345):
        e = sympy.Rational(-n, 96) % 1                     # ceil(n/96) - n/96, by hand
        by_hand = 256 * (n + 1) * math.ceil(n / 96)        # units x (inputs + 1)
        assert total.subs({d: n, eps: e}) == by_hand == count_params(
            write(tmp_path, "c.symp", CEIL_MODEL), d=n)
        low, high = r.bounds[1]
        deg1 = dict(r.orders)[1].subs({d: n, eps: e})
        assert low.subs(d, n) <= deg1 < high.subs(d, n)


def test_leading_with_floors_keeps_the_negative_lower_terms():
    import sympy

    from symparam.analysis.leading import leading

    # VGG16 as H, W grow: floor(H/32) falls short of H/32 by up to 31/32, which makes a
    # degree-1 term (down to -65536 (H + W)), not part of a constant.
    r = leading(symparam.analyze(ROOT / "zoo" / "vgg16.symp"), ["H", "W"])
    degrees = dict(r.orders)
    assert set(degrees) == {2, 1, 0} and r.bounds[1][1] == 0
    H, W = (s for s in symparam.analyze(ROOT / "zoo" / "vgg16.symp").symbols[:2])
    assert sympy.expand(r.bounds[1][0] + 65536 * (H + W)) == 0


def test_sweep_and_solve_check_a_default_that_follows(tmp_path):
    # ff = d / 3 follows d; `count --set d=61` refuses ff = 61/3 units.
    path = write(tmp_path, "f.symp", "model m(n = 10, d = 63, ff = d / 3):\n"
                                     "    input [n]\n    dense d\n    dense ff\n")
    assert swept_as_count_counts(path, "d", "60..63") == ["yes", "no", "no", "yes"]
    result = run("solve", path, "--for", "d", "--target", "params=2000")
    assert [(v, n) for _, v, n in offered(result.output)] == [
        (v, count_params(path, d=v)) for v in (60, 63)]
