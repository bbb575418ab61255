"""`--json` on every command, checked against the schema docs/cli.md documents, and the
one number syntax of every option (issue 14)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import symparam
from symparam.cli import main
from symparam.numbers import read_number
from symparam.render import read_formula

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
SEED000 = (ROOT / "docs" / "examples" / "seed000.symp").read_text(encoding="utf-8")
HEAD = ["schema", "command", "model", "convention", "symbols"]

# One run of each command that reads a model; seed000's MLP has n = 4096, h = 512, k = 80.
RUNS = {
    "count": ["count", "--example", "seed000"],
    "summary": ["summary", "--example", "seed000"],
    "cost": ["cost", "--example", "seed000"],
    "solve": ["solve", "--example", "seed000", "--for", "h", "--target", "params=1e6"],
    "leading": ["leading", "--example", "seed000", "--in", "h,n"],
    "memory": ["memory", "--example", "seed000", "--batch", "32"],
    "sweep": ["sweep", "--example", "seed000", "-g", "h=256,512"],
}


def _json(*args: str, input: str | None = None) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"], input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _documented_fields(command: str) -> list[str]:
    """The fields docs/cli.md's table lists after the head for ``command``."""
    row = re.search(rf"^\| `{command}` \| (.*) \|$", CLI_MD, re.M)
    assert row, f"docs/cli.md documents no JSON fields for {command}"
    # Top-level names only: `name` at the start or after ", " (not inside parentheses).
    text = re.sub(r"\([^()]*(\([^()]*\)[^()]*)*\)", "", row.group(1))
    return re.findall(r"`([a-z_]+)`", text)


@pytest.mark.parametrize("command", [c for c in RUNS if c not in ("count", "summary")])
def test_every_command_prints_the_documented_fields(command):
    doc = _json(*RUNS[command])
    assert list(doc)[:5] == HEAD
    assert doc["schema"] == 1 and doc["command"] == command
    assert doc["model"] == "mlp" and doc["convention"] == "keras"
    assert doc["symbols"] == {"n": 4096, "h": 512, "k": 80}
    assert list(doc)[5:] == _documented_fields(command)


def test_count_and_summary_share_the_head():
    for command in ("count", "summary"):
        doc = _json(*RUNS[command])
        assert list(doc)[:5] == HEAD and doc["command"] == command
        assert doc["total"] == {"formula": "h*(n + 1) + 4*h + k*(h + 1)", "value": 2140752}


def _counts(node):
    """Every {"formula", "value"} object in a document."""
    if isinstance(node, dict):
        if set(node) >= {"formula", "value"} and isinstance(node["formula"], str):
            yield node
        for v in node.values():
            yield from _counts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _counts(v)


@pytest.mark.parametrize("command", ["count", "summary", "cost", "leading", "memory"])
def test_every_count_reads_back_and_evaluates_to_its_value(command):
    """Each count's formula, read back with symparam's grammar and evaluated at the
    document's symbols, gives its value: formulas and numbers agree everywhere."""
    doc = _json(*RUNS[command])
    symbols = dict(doc["symbols"], batch=32)
    found = 0
    for c in _counts(doc):
        if c["value"] is None or not isinstance(c["value"], int):
            continue
        expr = read_formula(c["formula"], symbols)
        values = {s: symbols[s.name] for s in expr.free_symbols}
        assert expr.subs(values) == c["value"], c
        found += 1
    assert found >= 1


def test_multiplier_is_a_count_in_count_and_cost():
    src = "model m(n = 4, h = 2, L = 3):\n    input [n]\n    repeat L:\n        dense n\n"
    counted = _json("count", "-", input=src)
    costed = _json("cost", "-", input=src)
    for doc in (counted, costed):
        (dense,) = [layer for layer in doc["layers"] if layer["kind"] == "dense"]
        assert dense["multiplier"] == {"formula": "L", "value": 3}


def test_sweep_json_rows_match_count():
    doc = _json(*RUNS["sweep"])
    assert doc["grid"] == ["h"] and doc["points"] == 2 and doc["fixed"] == {"n": 4096, "k": 80}
    for row in doc["rows"]:
        stats = symparam.analyze(SEED000, values={"h": row["h"]})
        assert row["params"] == stats.value(stats.total)


def test_solve_json_candidates_are_counts():
    doc = _json(*RUNS["solve"])
    assert doc["target"] == 10**6 and doc["for"] == "h"
    for c in doc["candidates"]:
        stats = symparam.analyze(SEED000, values={"h": c["value"]})
        assert c["metric"] == stats.value(stats.total)
        assert c["difference"] == c["metric"] - 10**6


# ---- one number syntax for every option ----------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("4096", 4096), ("4_096", 4096), ("1e3", 1000), ("1.5e3", 1500), ("2**12", 4096),
    ("1.3B", 1_300_000_000), ("80GB", 80 * 10**9), ("80GiB", 80 * 2**30), ("1k", 1000),
])
def test_number_syntax(text, value):
    assert read_number(text) == value


@pytest.mark.parametrize("text, message", [
    ("1.5", "is not a whole number"), ("abc", "is not a number (examples"),
    ("10**1001", "more than 1,000 digits"), ("1e5000", "more than 1,000 digits"),
    ("9**99999999999999", "more than 1,000 digits"), ("7,000", "is not a number"),
])
def test_bad_numbers(text, message):
    with pytest.raises(symparam.SymparamError, match=re.escape(message)):
        read_number(text)


@pytest.mark.parametrize("written", ["2097152", "2_097_152", "2**21", "2.097152e6",
                                     "2.097152M"])
def test_set_grid_and_target_read_the_same_numbers(written):
    """`--set n=X`, `--grid n=X` and `--target params=X` accept the same spellings."""
    counted = _json("count", "--example", "seed000", "--set", f"n={written}")
    assert counted["symbols"]["n"] == 2**21
    swept = _json("sweep", "--example", "seed000", "-g", f"n={written}")
    assert swept["rows"] == [{"n": 2**21, "params": counted["total"]["value"]}]
    solved = _json("solve", "--example", "seed000", "--for", "n",
                   "--target", f"params={written}")
    assert solved["target"] == 2**21


def test_no_arguments_prints_help_and_succeeds():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage:") and "symparam: exact parameter" in result.output


def test_missing_batch_names_the_batch_option():
    result = CliRunner().invoke(main, ["sweep", "--example", "seed000", "-g", "h=2",
                                       "--metric", "activations"])
    assert result.exit_code == 2
    assert "give it with --batch VALUE" in result.stderr
    ok = CliRunner().invoke(main, ["sweep", "--example", "seed000", "-g", "h=2",
                                   "--metric", "activations", "--batch", "32"])
    assert ok.exit_code == 0, ok.output


def test_examples_json_lists_what_count_accepts():
    result = CliRunner().invoke(main, ["examples", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc)[:2] == ["schema", "command"] and doc["command"] == "examples"
    assert list(doc)[2:] == _documented_fields("examples")
    seed = next(e for e in doc["examples"] if e["name"] == "seed000")
    assert seed["models"] == ["mlp"]
    for entry in doc["zoo"][:3]:  # every listed name is one `--zoo` accepts
        assert _json("count", "--zoo", entry["name"])["model"] in entry["models"]


def test_diff_json_has_the_head_and_the_documented_fields():
    result = CliRunner().invoke(main, ["diff", "--example", "seed000", "--convention", "keras",
                                       "--against", "torch", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc)[:2] == ["schema", "command"] and doc["command"] == "diff"
    assert list(doc)[2:] == _documented_fields("diff")
    assert doc["a"]["symbols"] == doc["b"]["symbols"] == {"n": 4096, "h": 512, "k": 80}
    # Keras counts BatchNormalization's moving statistics (2h) as parameters, PyTorch
    # keeps them (and a batch counter) as buffers: params A - B = 2h = 1,024.
    assert doc["total"]["params"]["value"] == 1024


def test_explain_json_is_the_card_as_data():
    result = CliRunner().invoke(main, ["explain", "batchnorm", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc)[:2] == ["schema", "command"] and doc["command"] == "explain"
    # the last two, evaluation and families, come with --input and --list
    assert list(doc)[2:] == _documented_fields("explain")[:-2]
    keras, torch = doc["conventions"]["keras"], doc["conventions"]["torch"]
    # Keras: gamma, beta trainable, moving mean and variance non-trainable (4C, 2C);
    # PyTorch: weight, bias, and running_mean, running_var, num_batches_tracked buffers.
    assert keras["counts"] == {"total": "4*C", "trainable": "2*C", "non_trainable": "2*C",
                               "buffers": "0"}
    assert torch["counts"]["buffers"] == "2*C + 1" and torch["type"] == "BatchNorm1d"
    listed = json.loads(CliRunner().invoke(main, ["explain", "--list", "--json"]).stdout)
    names = [k["name"] for f in listed["families"] for k in f["kinds"]]
    assert "batchnorm" in names and "dense" in names
