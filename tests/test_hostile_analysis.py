"""Hostile, huge and odd input to parsing and analysis (issue 8): every case answers
with the right number or is refused with one clear message naming the limit and the
line, for `count`, `count --json`, `summary` and `derive`; never a traceback or a hang.

Each case runs under a generous watchdog (signal.alarm): it guards against a hang, not
a speed target (benchmarks/hostile.py measures those; docs/performance.md has the
figures). Numbers come from the layers' textbook rules (a dense layer of u units on n
inputs has u(n + 1) parameters) or from PyTorch itself.
"""
from __future__ import annotations

import json
import math
import signal
from contextlib import contextmanager

import pytest
import sympy
from click.testing import CliRunner

import symparam
from symparam import limits
from symparam.cli import main
from symparam.resources import resource_dir

WATCHDOG = 60  # seconds: a hang, not a slow run, on a shared machine
WATCHDOG_HUGE = 60  # the two cases of 10,000 layers, refused by MAX_UNROLL / MAX_LAYERS
COMMANDS = (["count"], ["count", "--json"], ["summary"], ["derive"])


@contextmanager
def watchdog(seconds: int = WATCHDOG):
    def hung(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def model(*lines: str, params: str = "d = 2", inputs: str = "[d]", head: str = "") -> str:
    return head + f"model m({params}):\n    input {inputs}\n" + "".join(
        f"    {line}\n" for line in lines)


def run(tmp_path, text: str, *args: str, seconds: int = WATCHDOG):
    path = tmp_path / "m.symp"
    path.write_text(text, encoding="utf-8")
    with watchdog(seconds):
        return CliRunner().invoke(main, [*args, str(path)], catch_exceptions=False)


def refused(tmp_path, text: str, message: str, line: int, commands=COMMANDS):
    """Every command exits 2 with ``message`` at ``line`` (and no traceback)."""
    for command in commands:
        result = run(tmp_path, text, *command)
        assert result.exit_code == 2, (command, result.output)
        assert f"line {line}" in result.output, (command, result.output)
        assert message in result.output, (command, result.output)
        assert "Traceback" not in result.output


# ---- tracebacks ----------------------------------------------------------------------

def test_a_tower_of_a_thousand_powers_is_refused_at_its_line(tmp_path):
    text = model("dense " + " ** ".join(["d"] * 1000))
    refused(tmp_path, text, f"nested too deeply: more than {limits.MAX_NESTING} levels", 3)


@pytest.mark.parametrize("expr, digits", [
    # A symbol's exponent is allowed (2**k is a real width); the value at d = 2 is
    # estimated from the base and exponent before it is computed: 2**16 * log10(2).
    ("d ** d ** d ** d ** d", "19,729"),
    ("d ** d ** 100", "381,600,854,690,147,059,798,506,471,425"),
])
def test_symbolic_exponent_towers_are_refused_at_the_values(tmp_path, expr, digits):
    text = model(f"dense {expr}")
    refused(tmp_path, text, f"a size or count here would have about {digits} digits, more "
                            f"than the limit MAX_DIGITS = 1,000 (with d = 2)", 3)


def test_a_huge_power_does_not_crash_its_own_error(tmp_path):
    refused(tmp_path, model("dropout (d ** 1000) ** 1000"),
            "this gives a power of degree 1000000, more than the limit MAX_EXPONENT = 1000",
            3)


def test_a_product_of_literals_past_the_digit_limit(tmp_path):
    refused(tmp_path, model("dense " + " * ".join(["10**999"] * 5)),
            "this gives a number of about 1,999 digits, more than the limit "
            "MAX_DIGITS = 1,000", 3)


def test_a_count_past_the_digit_limit_at_the_given_values(tmp_path):
    """d ** 1000 is a fine formula, but at a 999-digit d its count would have about a
    million digits: refused at its line, before it is computed, and the message shows
    the value of d without printing it."""
    text = model("dense 5", "dense d ** 1000")
    d = "1" + "0" * 998
    for command in COMMANDS:
        result = run(tmp_path, text, *command, "--set", f"d={d}")
        assert result.exit_code == 2, result.output
        assert ("line 4, column 5: layer 'dense_1': a size or count here would have "
                "about 998,001 digits, more than the limit MAX_DIGITS = 1,000 "
                "(with d = <a number of about 999 digits>)") in result.output
    # At d = 2 the same model counts: 5(2 + 1) + 2**1000 (5 + 1).
    result = run(tmp_path, text, "count", "--json")
    assert json.loads(result.output)["total"]["value"] == 5 * 3 + 2 ** 1000 * 6


def test_a_layer_past_the_digit_limit_names_its_line(tmp_path):
    """10**999 units on 10**999 inputs: about 1,999 digits."""
    refused(tmp_path, model("dense 10**999", "dense 10**999"),
            "layer 'dense_1': a size or count here would have about 1,999 digits", 4)


@pytest.mark.parametrize("params, size", [("", "9 * 10**998"), ("k = 1", "9 * 10**998 * k")])
def test_a_total_past_the_digit_limit_names_the_model(tmp_path, params, size):
    """Two layers of 10 units on 9 * 10**998 inputs: 9 * 10**999 + 10 each (1,000
    digits), 1.8 * 10**1000 + 20 in all (1,001 digits); a number, or a formula at k = 1.
    (Both reach the output, through `add`: Keras would leave out a layer that does not.)"""
    text = model("dense 10 as a", "from x", "dense 10", "add a", params=params,
                 inputs=f"[{size}] as x")
    refused(tmp_path, text, "line 1: the total count would have about 1,001 digits, more "
                            "than the limit MAX_DIGITS = 1,000", 1)


# ---- hangs ---------------------------------------------------------------------------

def test_recurrent_num_layers_is_bounded(tmp_path):
    refused(tmp_path, model("gru 64, num_layers = 10**100", inputs="[d, d]"),
            f"num_layers = <a number of about 101 digits> stacks more layers than the "
            f"limit MAX_UNROLL = {limits.MAX_UNROLL:,}", 3)


def test_stacked_recurrent_layers_at_the_limit_count(tmp_path):
    """PyTorch's GRU: 3 gates of u units, W_ih u x n, W_hh u x u and two biases per
    layer; the layers after the first read u inputs."""
    n_layers = limits.MAX_UNROLL
    result = run(tmp_path, model(f"gru 8, num_layers = {n_layers}", inputs="[d, d]",
                                 head="convention torch\n"), "count", "--json")
    u, n = 8, 2
    per_layer = lambda inputs: 3 * u * (inputs + u + 2)  # noqa: E731
    assert json.loads(result.output)["total"]["value"] == (
        per_layer(n) + (n_layers - 1) * per_layer(u))


def test_derive_of_a_total_with_an_800_digit_coefficient(tmp_path):
    text = model("dense 10**800 * h", "dense h", params="d = 2, h = 3")
    want = 10 ** 800 * 3 * (2 + 1) + 3 * (10 ** 800 * 3 + 1)
    for command in COMMANDS:
        result = run(tmp_path, text, *command)
        assert result.exit_code == 0, result.output
    assert json.loads(run(tmp_path, text, "count", "--json").output)["total"]["value"] == want
    assert str(want)[-12:] in run(tmp_path, text, "derive", "--format", "text"
                                  ).output.replace(",", "").replace("{}", "")


def test_a_repeat_of_ten_thousand_using_its_index(tmp_path):
    """10,000 distinct layers cost seconds of sympy: refused at the repeat's line."""
    text = model("repeat 10000 as i:", "    dense d + i")
    for command in COMMANDS:
        result = run(tmp_path, text, *command, seconds=WATCHDOG_HUGE)
        assert result.exit_code == 2, (command, result.output)
        assert (f"line 3, column 5: this repeat would unroll 10000 times, more than the "
                f"limit MAX_UNROLL = {limits.MAX_UNROLL:,}") in result.output


def test_five_thousand_lines(tmp_path):
    """The input is layer 1, so the limit is crossed by the dense layer at line
    MAX_LAYERS + 2 (the model's line and the input's come first). (10,000 such lines
    pass MAX_TOKENS first: tests/test_hangs_last.py.)"""
    text = model(*["dense d"] * 5_000)
    for command in COMMANDS:
        result = run(tmp_path, text, *command, seconds=WATCHDOG_HUGE)
        assert result.exit_code == 2, (command, result.output)
        assert (f"line {limits.MAX_LAYERS + 2}, column 5: model m has more layers than the "
                f"limit MAX_LAYERS = {limits.MAX_LAYERS:,}") in result.output


# ---- nesting -------------------------------------------------------------------------

# The model's body is the first level: the 100th minus sign, bracket or call is the
# 101st. The expression starts at column 11 (`    dense `).
@pytest.mark.parametrize("expr, column", [
    ("- " * 2000 + "d", 11 + 2 * 99),
    ("(" * 500 + "d" + ")" * 500, 11 + 99),
    # A long chain `d + d + ...` is one level, however long: tests/test_hostile_exprs.py.
    ("floor(" * 300 + "d" + ")" * 300, 11 + 6 * 99),
])
def test_deep_expressions_name_the_limit_and_the_line(tmp_path, expr, column):
    text = model("dense 3", f"dense {expr}")
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert (f"line 4, column {column}: this expression is nested too deeply: more than "
            f"{limits.MAX_NESTING} levels") in result.output
    refused(tmp_path, text, "(the limit MAX_NESTING = 100)", 4)


def test_deep_bodies_name_the_limit_and_the_line(tmp_path):
    lines = [" " * 4 * i + "repeat 1:" for i in range(150)] + [" " * 600 + "dense d"]
    text = model(*lines)
    # The model's body is level 1; the 100th repeat (line 102) opens the 101st level,
    # whose first line is 103.
    refused(tmp_path, text, "this body is nested too deeply: more than 100 levels", 103)


def test_blocks_used_in_blocks_name_the_limit_and_the_line(tmp_path):
    text = "".join(f"block b{i}(u):\n    b{i + 1} u\n" for i in range(300))
    text += "block b300(u):\n    dense u\n" + model("b0 d")
    # The model's body, then b0's ... b98's: b99's body (line 2 * 99 + 2) is the 101st.
    result = run(tmp_path, text, "count")
    assert result.exit_code == 2
    assert ("line 200, column 5: this body is nested too deeply: more than 100 levels of "
            "indented bodies and blocks used in blocks") in result.output


def test_nesting_at_the_limit_is_fine(tmp_path):
    # 99 brackets, or 98 minus signs (d again), inside the model's body: 100 levels.
    text = model("dense " + "(" * 99 + "d" + ")" * 99, "dense " + "- " * 97 + "-d")
    result = run(tmp_path, text, "count", "--json")
    assert json.loads(result.output)["total"]["value"] == 2 * (2 + 1) * 2


# ---- torch ceil_mode pooling ---------------------------------------------------------

def _pool_shapes(torch, lengths, pools, rank: int = 1):
    """PyTorch's own output length after each pool in ``pools`` (k, s, p, d), or 0
    when it refuses the input."""
    fn = torch.nn.functional.max_pool1d if rank == 1 else torch.nn.functional.max_pool2d
    out = {}
    for n in lengths:
        x, sizes = torch.zeros((1, 1) + (n,) * rank), []
        for k, s, p, d in pools:
            try:
                x = fn(x, k, s, p, d, ceil_mode=True)
                sizes.append(x.shape[-1])
            except RuntimeError:
                sizes.append(0)
                break
        out[n] = sizes
    return out


def _symparam_shapes(lengths, pools):
    text = "convention torch\n" + model(
        *[f"maxpool1d {k}, stride = {s}, padding = {p}, dilation = {d}, ceil_mode = true"
          for k, s, p, d in pools], params="L", inputs="[1, L]")
    out = {}
    for n in lengths:
        try:
            stats = symparam.analyze(text, values={"L": n})
            out[n] = [stats.value(layer.output_shape[-1]) for layer in stats.layers[1:]]
        except symparam.SymparamError as err:
            assert "PyTorch would give an output of size 0" in str(err)
            out[n] = None
    return out


POOLS = [(k, s, p, d) for k in (1, 2, 3, 4) for s in (1, 2, 3) for p in range(k // 2 + 1)
         for d in (1, 2)]


@pytest.mark.oracle
@pytest.mark.parametrize("pool", POOLS, ids=str)
def test_one_ceil_mode_pool_against_pytorch(frameworks, pool):
    lengths = range(1, 25)
    want = _pool_shapes(frameworks["torch"], lengths, [pool])
    got = _symparam_shapes(lengths, [pool])
    for n in lengths:
        assert got[n] == (None if want[n] == [0] else want[n]), n


@pytest.mark.oracle
def test_chained_ceil_mode_pools_against_pytorch(frameworks):
    chain = [(3, 2, 0, 1), (3, 2, 1, 1), (2, 2, 1, 1), (3, 3, 1, 1), (3, 2, 0, 1)]
    lengths = range(1, 120)
    want = _pool_shapes(frameworks["torch"], lengths, chain)
    with watchdog():
        got = _symparam_shapes(lengths, chain)
    for n in lengths:
        assert got[n] == (None if 0 in want[n] else want[n]), n


def test_a_length_two_input_to_a_three_wide_pool_gives_one(tmp_path):
    """The issue's case: PyTorch returns length 1 (its window starts inside the input)."""
    text = "convention torch\n" + model("maxpool1d 3, stride = 2, ceil_mode = true",
                                        inputs="[8, d]")
    stats = symparam.analyze(text)
    assert stats.shape_at(stats.layers[-1].output_shape) == (8, 1)
    refused(tmp_path, text.replace("d = 2", "d = 1"),
            "(with ceil_mode, PyTorch would give an output of size 0)", 4)


@pytest.mark.parametrize("pools", [1, 2, 3, 4, 8])
def test_chained_pools_stay_one_floor(tmp_path, pools):
    """No case split growing with the chain: 2**pools halvings, as one floor."""
    text = "convention torch\n" + model(
        *["maxpool2d 3, stride = 2, ceil_mode = true"] * pools, "flatten", "dense 10",
        params="H = 1024", inputs="[8, H, H]")
    with watchdog():
        stats = symparam.analyze(text)
    assert not stats.total.has(sympy.Piecewise)
    side = 1024
    for _ in range(pools):  # PyTorch's rule, by hand
        out = math.ceil((side - 3) / 2) + 1
        side = out - 1 if (out - 1) * 2 >= side else out
    assert stats.value(stats.total) == 10 * (8 * side * side + 1)


@pytest.mark.oracle
def test_squeezenet_shapes_against_pytorch(frameworks):
    """zoo/squeezenet.symp against torchvision's squeezenet1_0 built here layer by
    layer (torchvision is not installed): the output of every pool, for sizes from
    the smallest it accepts, and the count."""
    torch = frameworks["torch"]
    nn = torch.nn

    class Fire(nn.Module):  # torchvision.models.squeezenet.Fire
        def __init__(self, c, s, e1, e3):
            super().__init__()
            self.squeeze = nn.Sequential(nn.Conv2d(c, s, 1), nn.ReLU())
            self.e1 = nn.Sequential(nn.Conv2d(s, e1, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(s, e3, 3, padding=1), nn.ReLU())

        def forward(self, x):
            x = self.squeeze(x)
            return torch.cat([self.e1(x), self.e3(x)], 1)

    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    features = nn.Sequential(
        nn.Conv2d(3, 96, 7, 2), nn.ReLU(), pool(), Fire(96, 16, 64, 64),
        Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(), Fire(256, 32, 128, 128),
        Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), pool(),
        Fire(512, 64, 256, 256))
    classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, 1000, 1), nn.ReLU(),
                               nn.AdaptiveAvgPool2d(1))
    count = sum(p.numel() for p in [*features.parameters(), *classifier.parameters()])
    path = resource_dir("zoo") / "squeezenet.symp"
    with watchdog():
        assert symparam.analyze(path).value(symparam.analyze(path).total) == count
    for h in (31, 32, 33, 34, 35, 47, 64, 100, 224, 227):
        sizes, x = [], torch.zeros(1, 3, h, h + 1)
        with torch.no_grad():
            for layer in features:
                x = layer(x)
                if isinstance(layer, nn.MaxPool2d):
                    sizes.append(tuple(x.shape[1:]))
        stats = symparam.analyze(path, values={"H": h, "W": h + 1})
        got = [stats.shape_at(layer.output_shape) for layer in stats.layers
               if layer.kind == "maxpool2d"]
        assert got == sizes, h
