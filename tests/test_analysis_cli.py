"""The analysis commands end to end: output formats, plots, and errors as one
message with exit code 2 (never a traceback)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from symparam.cli import main

ROOT = Path(__file__).resolve().parents[1]
GPT2 = str(ROOT / "benchmarks" / "models" / "gpt2.symp")
RESNET50 = str(ROOT / "zoo" / "resnet50.symp")


def run(*args, ok=True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def by_hand(d, L, T=1024, V=50257):
    return V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d


def test_sweep_csv_is_exact():
    out = run("sweep", GPT2, "--grid", "d=768,12288,1200000000000", "--grid", "L=12,96",
              "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(int(r["d"]), int(r["L"])) for r in rows] == [
        (768, 12), (768, 96), (12288, 12), (12288, 96), (12 * 10**11, 12), (12 * 10**11, 96)]
    assert [int(r["params"]) for r in rows] == [by_hand(int(r["d"]), int(r["L"])) for r in rows]


def test_sweep_json_and_metrics():
    out = run("sweep", GPT2, "-g", "d=768", "-g", "L=12", "--metric",
              "params,training", "--precision", "mixed", "--format", "json").stdout
    assert json.loads(out) == [{"d": 768, "L": 12, "params": 124_439_808,
                                "training": 16 * 124_439_808}]


def test_sweep_table_and_markdown():
    table = run("sweep", GPT2, "-g", "d=768,1536").stdout.splitlines()
    assert table[0].split() == ["d", "params"]
    assert table[1].split() == ["768", "124,439,808"]
    # d = 1024 with the default H = 12 heads breaks attention's divisibility: flagged,
    # and no number given for a model `count` refuses.
    result = run("sweep", GPT2, "-g", "d=768,1024", "--format", "csv")
    assert result.stdout.splitlines()[1:] == [
        "768,124439808,yes,", "1024,,no,\"d % 12 == 0 (layer 'attn', line 19)\""]
    assert "1 of 2 points breaks the model's condition d % 12 == 0" in result.stderr
    md = run("sweep", GPT2, "-g", "L=12", "--format", "markdown").stdout.splitlines()
    assert md[0] == "| L | params |" and md[2] == "| 12 | 124,439,808 |"


def test_sweep_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "gpt.png"
    run("sweep", GPT2, "-g", "d=256..8192:*2", "-g", "L=12..48:12", "--plot", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "gpt.svg"
    run("sweep", GPT2, "-g", "d=256..8192:*2", "--metric", "params,memory", "--plot", str(svg))
    assert b"<svg" in svg.read_bytes()[:400]


@pytest.mark.parametrize("args, message", [
    (["-g", "d="], "bad grid 'd=': no values for d"),
    (["-g", "d=1.."], "needs a start and an end"),
    (["-g", "x=1"], "no symbol 'x'"),
    (["-g", "d=1", "--metric", "flopz"], "unknown metric 'flopz' (did you mean 'flops'?)"),
    (["-g", "d=1", "--dtype", "fp33"], "unknown dtype 'fp33'"),
    (["-g", "d=1", "--plot", "out.txt"], "write a .png, .svg or .pdf"),
])
def test_sweep_errors(args, message):
    result = run("sweep", GPT2, *args, ok=False)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_solve_prints_root_and_neighbours():
    out = run("solve", GPT2, "--for", "d", "--target", "params=174604259328",
              "--set", "T=2048,L=96,H=96").stdout
    assert "exact root: d = 12288" in out
    assert "exact   d = 12,288   174,604,259,328   +0" in out


def test_solve_where_and_errors():
    out = run("solve", GPT2, "--for", "d", "--target", "params=7e9", "--where",
              "d % 128 == 0").stdout
    assert "admissible: d % 128 == 0 and d % H == 0" not in out  # H has a value
    assert "d % 128 == 0 and d % 12 == 0" in out
    bad = run("solve", GPT2, "--for", "d", "--target", "params=10", ok=False)
    assert bad.exit_code == 2 and "no positive whole d gives params = 10" in bad.output
    bad = run("solve", RESNET50, "--for", "H", "--target", "params=1e6", ok=False)
    assert "params does not depend on H" in bad.output


def test_leading():
    out = run("leading", GPT2, "--in", "d,L").stdout
    assert "leading term: 12*L*d**2" in out
    assert "attention" in out and "1/3" in out and "2/3" in out


def test_memory():
    out = run("memory", GPT2, "--precision", "mixed", "--batch", "2").stdout
    assert "16 bytes per trainable parameter" in out
    assert f"{16 * 124_439_808:,}" in out
    assert f"{4 * 124_439_808:,}" in out  # fp32 parameter memory


def test_diff_conventions():
    out = run("diff", RESNET50, "--convention", "keras", "--against", "torch").stdout
    assert "non-trainable  53,120" in out
    assert "buffers        -53,173" in out
    bad = run("diff", RESNET50, ok=False)
    assert bad.exit_code == 2 and "give a second FILE" in bad.output


# ---- docs/analysis.md shows real output -------------------------------------------

COSTS_WORDS = ("symparam cost", "kaplan", "flops", "macs")  # tests/test_costs.py's


def _analysis_sessions():
    import re
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command, _, output = block.partition("\n")
        if any(w in command for w in COSTS_WORDS) or "\n...\n" in output:
            continue
        yield pytest.param(command[len("$ symparam "):], output, id=command[2:70])


@pytest.mark.parametrize("command, output", list(_analysis_sessions()))
def test_analysis_md_outputs_are_real(command, output, monkeypatch):
    import shlex
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, shlex.split(command))
    assert result.exit_code == (2 if output.startswith("error:") else 0), result.output
    assert result.output.rstrip("\n") == output.rstrip("\n"), command


def test_memory_layers_lists_every_layer_in_order():
    # seed002: dense 2, 3, 4 on 256 inputs; batch 4 in fp32: 4 * 4 * (2, 3, 4) bytes.
    out = run("memory", str(ROOT / "docs" / "examples" / "seed002.symp"), "--batch", "4",
              "--layers").stdout.splitlines()
    rows = [line.split()[:3] for line in out if line.startswith("  layer")]
    assert rows == [["layer", "formula", "bytes"], ["layer1", "32", "32"],
                    ["layer2", "48", "48"], ["layer3", "64", "64"]]
    assert " total = 144 bytes (144 B)" in out
