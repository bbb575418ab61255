"""Issue 8 follow-up: `solve` on metrics that do not grow with the symbol (falling,
stepped, several crossings), each proposed value checked against `count --set`; and
`memory`'s note about layers that never reach the output."""
from __future__ import annotations

from test_hostile_answers import count_params, offered, run, write  # as there

# ---- memory: the note about layers that never reach the output ---------------------

UNREACHED = ("model m(n = 8):\n    input [n] as x\n    dense 8 as unused\n    from x\n"
             "    dense 2\n")


def test_memory_prints_the_unreached_note_as_count_does(tmp_path):
    path = write(tmp_path, "m.symp", UNREACHED)
    for convention in ("keras", "torch"):
        counted = run("count", path, "--convention", convention)
        note = [line for line in counted.output.splitlines() if line.startswith("Note:")]
        assert len(note) == 1 and "dense 'unused' (line 3) does not reach" in note[0]
        memory = run("memory", path, "--convention", convention)
        assert memory.exit_code == 0, memory.output
        assert memory.output.rstrip().splitlines()[-1] == note[0]


def test_memory_prints_no_note_when_every_layer_reaches_the_output(tmp_path):
    path = write(tmp_path, "m.symp", "model m(n = 8):\n    input [n]\n    dense 2\n")
    memory = run("memory", path)
    assert memory.exit_code == 0, memory.output
    assert "Note:" not in memory.output


# ---- solve: metrics that fall, step, or cross the target more than once -----------

ISSUE_STRIDE = ("model m(T = 64, s = 2):\n    input [T, 1]\n    conv1d 1, 3, stride = s / 2\n"
                "    flatten\n    dense 1\n")


def solve_rows(path, symbol, target) -> list[tuple[str, int, int]]:
    result = run("solve", path, "--for", symbol, "--target", f"params={target}")
    assert result.exit_code == 0, result.output
    rows = offered(result.output)
    for side, value, n in rows:   # each row is what count prints, and labelled by it
        assert n == count_params(path, **{symbol: value})
        assert side == ("exact" if n == target else "below" if n < target else "above")
    return rows


def crossing_by_count(path, symbol, values, target) -> list[tuple[int, int]]:
    """Neighbouring values that count accepts, on either side of the target."""
    counted = [(v, count_params(path, **{symbol: v})) for v in values]
    counted = [(v, n) for v, n in counted if n is not None]
    return [(a, b) for (a, na), (b, nb) in zip(counted, counted[1:])
            if (na - target) * (nb - target) < 0]


def torch_stride_model(T: int, stride: int) -> int:
    torch = __import__("pytest").importorskip("torch")
    conv = torch.nn.Conv1d(1, 1, 3, stride=stride)
    length = conv(torch.zeros(1, 1, T)).shape[-1]
    return sum(p.numel() for m in (conv, torch.nn.Linear(length, 1)) for p in m.parameters())


def test_falling_step_metric_the_issue_saw_refused(tmp_path):
    # params = floor(122/s) + 6 falls with s: 21 at s = 8, 18 at s = 10 (s = 9 gives a
    # stride of 4.5, which count refuses). solve used to say no s gives 20.
    path = write(tmp_path, "m.symp", ISSUE_STRIDE)
    rows = solve_rows(path, "s", 20)
    assert [(side, v) for side, v, _ in rows] == [("above", 8), ("below", 10)]
    assert crossing_by_count(path, "s", range(1, 40), 20) == [(8, 10)]
    assert [n for _, _, n in rows] == [torch_stride_model(64, 4), torch_stride_model(64, 5)]


def test_a_plateau_at_the_target_is_given_at_both_ends(tmp_path):
    # params = 7 for every s from 62 to 122 (the conv's output has length 2); solve used
    # to say that at s = 1 it is already 128.
    path = write(tmp_path, "m.symp", ISSUE_STRIDE)
    result = run("solve", path, "--for", "s", "--target", "params=7")
    assert "equals 7 for s from 62 to 122" in result.output
    assert [(side, v, n) for side, v, n in offered(result.output)] == [
        ("exact", 62, 7), ("exact", 122, 7)]
    assert [count_params(path, s=v) for v in (60, 62, 122, 124)] == [8, 7, 7, 6]


def test_a_target_the_step_metric_never_meets_is_refused_truthfully(tmp_path):
    path = write(tmp_path, "m.symp", ISSUE_STRIDE)
    result = run("solve", path, "--for", "s", "--target", "params=3")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("no positive whole s gives params = 3: params is above it at every s from 1 "
            "to 200,000") in result.output
    assert min(count_params(path, s=v) or 99 for v in (2, 64, 124, 10**6)) == 6


def test_a_floor_metric_is_bracketed_by_count(tmp_path):
    path = write(tmp_path, "m.symp", "model f(d = 384):\n    input [d]\n"
                                     "    dense 256 * ceil(d / 96)\n")
    rows = solve_rows(path, "d", 200_000)
    assert [(side, v) for side, v, _ in rows] == [("below", 259), ("above", 260)]
    assert crossing_by_count(path, "d", range(250, 270), 200_000) == [(259, 260)]
    # Far beyond the values evaluated one by one: bisection between powers of 2.
    rows = solve_rows(path, "d", 2 * 10**13)
    (_, lo, n_lo), (_, hi, n_hi) = rows
    assert hi == lo + 1 and n_lo < 2 * 10**13 < n_hi and lo > 200_000


def test_a_falling_quotient_has_its_exact_root(tmp_path):
    # dense d / h solved for h: params = (d + 1) d / h falls with h; h = 4, 5, 6 leave
    # d / h fractional, which count refuses.
    path = write(tmp_path, "m.symp", "model m(d = 63, h = 3):\n    input [d]\n"
                                     "    dense d / h\n")
    result = run("solve", path, "--for", "h", "--target", "params=1000")
    assert "exact root: h = 504/125" in result.output
    rows = solve_rows(path, "h", 1000)
    assert [(side, v) for side, v, _ in rows] == [("above", 3), ("below", 7)]
    assert crossing_by_count(path, "h", range(1, 12), 1000) == [(3, 7)]


def test_a_polynomial_with_two_roots_is_labelled_by_the_count(tmp_path):
    # params = 5 s (T - s) rises then falls: 400 is met near s = 5.53 and s = 14.47.
    path = write(tmp_path, "m.symp", "model m(T = 20, s = 5):\n    input [4]\n"
                                     "    dense s * (T - s)\n")
    rows = solve_rows(path, "s", 400)
    assert [(side, v) for side, v, _ in rows] == [
        ("below", 5), ("above", 6), ("above", 14), ("below", 15)]
    assert crossing_by_count(path, "s", range(1, 20), 400) == [(5, 6), (14, 15)]


STRIDED_HEAD = ("model m(s = 5):\n    input [60, 1]\n    conv1d 4, 3, stride = s\n"
                "    flatten\n    dense s\n")


def test_a_step_metric_that_rises_and_falls_has_every_crossing(tmp_path):
    # params = s (4 floor(57/s) + 5) + 16 (a stride s, a head of s units) meets 300
    # seven times; solve follows the first 4 (SOLVE_CROSSINGS) and says so.
    path = write(tmp_path, "m.symp", STRIDED_HEAD)
    result = run("solve", path, "--for", "s", "--target", "params=300")
    assert "it meets 300 7 times for s from 1 to 200,000 (each evaluated); the first 4:" \
        in result.output
    by_count = crossing_by_count(path, "s", range(1, 80), 300)
    assert len(by_count) == 7
    rows = solve_rows(path, "s", 300)
    assert [v for _, v, _ in rows] == sorted({v for pair in by_count[:4] for v in pair})


def test_analysis_md_shows_these_models_as_solve_prints_them(tmp_path):
    import re
    import shlex
    import textwrap
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    section = text[text.index("A count built with floor or ceiling"):]
    sources = re.findall(r"```symparam\n(.*?)```", section, re.S)[:2]
    assert sources == [ISSUE_STRIDE, STRIDED_HEAD]
    shown = re.findall(r"```\n\n((?:    .*\n|\n)+)", section)[:2]
    shown.append(re.search(r"with exit code 2 \(the same model\):\n\n((?:    .*\n)+)",
                           section).group(1))
    for source, block in zip([ISSUE_STRIDE, STRIDED_HEAD, STRIDED_HEAD], shown):
        command, _, output = textwrap.dedent(block).partition("\n")
        path = write(tmp_path, "m.symp", source)
        result = run(*[path if a == "m.symp" else a for a in shlex.split(command)[2:]])
        assert result.exit_code == (2 if output.startswith("error:") else 0)
        assert result.output.rstrip("\n") == output.rstrip("\n"), command


def test_floor_and_ceiling_of_a_square_root_are_exact(tmp_path):
    # ceil(sqrt(d / 3)) is written ceiling(sqrt(3)*sqrt(d)/3); at d = 108 the root is
    # exactly 6: an inexact square root would put the crossing elsewhere.
    for body, target, pair in (("dense floor(sqrt(d))", 1000, (99, 100)),
                               ("dense ceil(sqrt(d / 3))", 650, (107, 108))):
        path = write(tmp_path, "m.symp", f"model m(d = 16):\n    input [d]\n    {body}\n")
        rows = solve_rows(path, "d", target)
        assert tuple(v for _, v, _ in rows) == pair
        assert crossing_by_count(path, "d", range(pair[0] - 3, pair[1] + 3), target) == [pair]


def test_a_metric_solve_cannot_evaluate_exactly_is_one_clear_error(tmp_path):
    path = write(tmp_path, "m.symp", "model m(d = 16):\n    input [d]\n    dense 2 * sqrt(d)\n")
    result = run("solve", path, "--for", "d", "--target", "params=1000")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output == ("error: solve cannot search params(d) = 1,000: it has no "
                             "closed-form root and uses sqrt(d), which solve does not "
                             "evaluate exactly; try `sweep` over d\n")
