"""Large models (issue 8): equal layer applications computed once, and the two limits
that keep the largest inputs answering in about two seconds, MAX_UNROLL and MAX_LAYERS.

Numbers come from the layers' textbook rules (a dense layer of u units on n inputs has
u(n + 1) parameters; a 3 x 3 convolution of F filters on C channels F(9C + 1); a batch
norm 4C, half of it non-trainable in Keras). Each case runs under a watchdog that guards
against a hang only (benchmarks/hostile.py measures the times).
"""
from __future__ import annotations

import json

from click.testing import CliRunner

from symparam import analyze, limits
from symparam.cli import main
from symparam.parser import parse_file
from symparam.resources import resource_dir
from test_hostile_analysis import watchdog  # the same watchdog (signal.alarm)

COMMANDS = (["count"], ["count", "--json"], ["summary"], ["derive"])


def model(*lines: str, params: str = "d = 2", inputs: str = "[d]") -> str:
    return f"model m({params}):\n    input {inputs}\n" + "".join(f"    {line}\n" for line in lines)


def run(tmp_path, text: str, *args: str):
    path = tmp_path / "m.symp"
    path.write_text(text, encoding="utf-8")
    with watchdog():
        return CliRunner().invoke(main, [*args, str(path)], catch_exceptions=False)


# ---- MAX_LAYERS ----------------------------------------------------------------------

def test_a_model_at_the_layer_limit_is_counted(tmp_path):
    """The input and MAX_LAYERS - 1 dense layers of d units on d inputs: d(d + 1) each."""
    text = model(*["dense d"] * (limits.MAX_LAYERS - 1))
    result = run(tmp_path, text, "count", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"]["value"] == (limits.MAX_LAYERS - 1) * 2 * 3


def test_one_layer_past_the_limit_is_refused_at_its_line(tmp_path):
    text = model(*["dense d"] * limits.MAX_LAYERS)
    for command in COMMANDS:
        result = run(tmp_path, text, *command)
        assert result.exit_code == 2, (command, result.output)
        assert (f"line {limits.MAX_LAYERS + 2}, column 5: model m has more layers than the "
                f"limit MAX_LAYERS = {limits.MAX_LAYERS:,} (counted with blocks expanded and "
                f"unrolled repeats copied): this is layer {limits.MAX_LAYERS + 1:,}"
                ) in result.output
        assert "Traceback" not in result.output


def test_blocks_count_their_layers_at_each_use(tmp_path):
    """A block of 10 layers used MAX_LAYERS / 10 times, after an input: one too many,
    refused inside the block, at the line of its last layer."""
    block = "block ten(u):\n" + "".join("    dense u\n" for _ in range(10))
    uses = limits.MAX_LAYERS // 10
    result = run(tmp_path, block + model(*["ten d"] * uses), "count")
    assert result.exit_code == 2, result.output
    assert "line 11, column 5: model m has more layers than the limit MAX_LAYERS" \
        in result.output


def test_a_rolled_repeat_counts_its_body_once(tmp_path):
    """`repeat 100000: dense d` keeps the shape: one layer times 100,000, not 100,000."""
    result = run(tmp_path, model("repeat 100000:", "    dense d"), "count", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"]["value"] == 100_000 * 2 * 3


def test_real_models_stay_well_inside_the_limits():
    """Every zoo model uses less than half of MAX_LAYERS."""
    for path in sorted(resource_dir("zoo").glob("*.symp")):
        doc = parse_file(path)
        for name in doc.models:
            stats = analyze(doc, model=name)
            assert len(stats.layers) < limits.MAX_LAYERS / 2, (path.name, name)


# ---- MAX_UNROLL ----------------------------------------------------------------------

def test_an_unrolled_repeat_at_the_limit_is_counted(tmp_path):
    """Layer 0: d(d + 1); layer i > 0: d + i units on d + i - 1 inputs, (d + i)**2."""
    n = limits.MAX_UNROLL
    result = run(tmp_path, model(f"repeat {n} as i:", "    dense d + i"), "count", "--json")
    assert result.exit_code == 0, result.output
    d = 2
    assert json.loads(result.output)["total"]["value"] == d * (d + 1) + sum(
        (d + i) ** 2 for i in range(1, n))


def test_an_unrolled_repeat_past_the_limit_is_refused_at_its_line(tmp_path):
    n = limits.MAX_UNROLL + 1
    result = run(tmp_path, model(f"repeat {n} as i:", "    dense d + i"), "count")
    assert result.exit_code == 2
    assert (f"line 3, column 5: this repeat would unroll {n} times, more than the limit "
            f"MAX_UNROLL = {limits.MAX_UNROLL:,}: its body changes the shape or uses its "
            f"index") in result.output


# ---- equal layers computed once: the same answers --------------------------------------

def test_equal_layers_in_a_mixed_model():
    """600 copies of conv 3x3 (16 filters, same padding) + batch norm + relu on
    [32, 32, 16] (Keras): 16(9*16 + 1) = 2,320 trainable and 32 + 32 trainable/
    non-trainable per batch norm; the first conv reads C = 3 channels."""
    lines = ["conv2d 16, 3, padding = same", "batchnorm", "relu"] * 600
    stats = analyze(model(*lines, params="H = 32, C = 3", inputs="[H, H, C]"))
    conv, norm = 16 * (9 * 16 + 1), 2 * 16
    first = 16 * (9 * 3 + 1)
    assert stats.value(stats.trainable) == first + 599 * conv + 600 * norm
    assert stats.value(stats.non_trainable) == 600 * 2 * 16


TWO_EQUAL_CONVS = ("model m(H = 32, C = 3):\n    input [H, H, C] as x\n"
                   "    conv2d 16, 5\n    from x\n    conv2d 16, 5\n")


def test_a_deferred_check_of_equal_layers_is_made_at_each():
    """The second convolution is the first one again (same arguments, same input): its
    deferred check (the 5 x 5 window fits in H) is still made at its own line."""
    stats = analyze(TWO_EQUAL_CONVS, symbolic=True)
    lines = sorted(where.line for _, _, where in stats.checks)
    assert lines and lines.count(3) == lines.count(5) and set(lines) == {3, 5}


def test_a_deferred_check_of_equal_layers_fails_at_the_first(tmp_path):
    result = run(tmp_path, TWO_EQUAL_CONVS, "count", "--set", "H=4")
    assert result.exit_code == 2
    assert "line 3, column 5:" in result.output and "H = 4" in result.output


def test_equal_layers_keep_their_own_names_and_lines():
    stats = analyze(model("dense d", "dense d", "dense d as last"))
    assert [(layer.name, layer.line) for layer in stats.layers[1:]] == [
        ("dense", 3), ("dense_1", 4), ("last", 5)]
