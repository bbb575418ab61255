"""Every command that reads a model takes the shipped examples and zoo the same way;
conditions are stated once."""
from __future__ import annotations

from click.testing import CliRunner

from symparam.cli import main


def _run(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_diff_of_a_zoo_model_under_two_conventions():
    # Keras ResNet-50 counted the PyTorch way: the 53,120 BatchNormalization statistics
    # (Keras's non-trainable parameters) become 53,120 + 53 buffer elements (one
    # num_batches_tracked per BatchNorm layer).
    out = _run("diff", "--zoo", "resnet50", "--convention", "keras", "--against", "torch")
    assert "--zoo resnet50 (resnet50, convention keras)" in out
    assert "53,120" in out and "-53,173" in out


def test_diff_zoo_against_a_file_takes_the_file_as_b(tmp_path):
    f = tmp_path / "b.symp"
    f.write_text("model mlp(n = 4096, h = 512, k = 80):\n    input [n]\n    dense h\n"
                 "    dense k\n")
    out = _run("diff", "--example", "seed000", str(f))
    assert "--example seed000" in out and str(f) in out
    # A has the BatchNormalization (4h = 2,048) that B lacks.
    assert "2,048" in out


def test_solve_states_a_condition_once():
    out = _run("solve", "--zoo", "gpt2", "--model", "gpt2", "--for", "d", "--target",
               "params=7e9", "--set", "L=32", "--where", "d % heads == 0")
    line = next(l for l in out.splitlines() if l.startswith("admissible:"))
    assert line == "admissible: d % 12 == 0"
    assert "d = 4,200" in out and "d = 4,212" in out  # both multiples of 12 around 4202.8


def test_diff_refuses_standard_input_twice():
    result = CliRunner().invoke(main, ["diff", "-", "-"], input="model m():\n    input [3]\n")
    assert result.exit_code == 2
    assert "only one of A and B can be standard input" in result.output
