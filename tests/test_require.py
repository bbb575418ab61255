"""``require``: conditions a model declares on its symbols, checked at their values and
honoured by ``solve`` and ``sweep`` (issue 11: only admissible points are proposed)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import symparam
from symparam import SymparamError
from symparam.cli import main

MODEL = """model m(d = 512, h = 8, f = 1024):
    require d % h == 0, "each head gets d / h numbers"
    require f % 256 == 0
    input [d]
    dense f
    dense d
"""


def _cli(tmp_path, *args):
    path = tmp_path / "m.symp"
    path.write_text(MODEL)
    return CliRunner().invoke(main, [args[0], str(path), *args[1:]])


def test_holds_at_the_defaults_and_counts():
    s = symparam.analyze(MODEL)
    assert s.value(s.total) == 512 * 1025 + 1024 * 513


@pytest.mark.parametrize("values, line, why", [
    ({"f": 1000}, 3, ""), ({"h": 7}, 2, "(each head gets d / h numbers)")])
def test_broken_at_given_values_names_the_line(values, line, why):
    with pytest.raises(SymparamError) as err:
        symparam.analyze(MODEL, values=values)
    text = str(err.value)
    assert f"line {line}" in text and "requirement does not hold" in text and why in text


def test_numbers_decide_at_once():
    src = "model m(d = 4):\n    require 3 > 4, \"never\"\n    input [d]\n"
    with pytest.raises(SymparamError, match=r"line 2.*does not hold \(never\)"):
        symparam.analyze(src)


def test_solve_proposes_only_admissible_values(tmp_path):
    out = _cli(tmp_path, "solve", "--for", "f", "--target", "params=2e6", "--json")
    assert out.exit_code == 0, out.output
    import json
    doc = json.loads(out.stdout)
    values = [c["value"] for c in doc["candidates"]]
    assert values and all(v % 256 == 0 for v in values)
    # The real root (about 1,951.5) is not a multiple of 256: 1,792 and 2,048 are.
    assert sorted(values) == [1792, 2048]


def test_sweep_marks_the_points_that_break_it(tmp_path):
    out = _cli(tmp_path, "sweep", "--grid", "f=1000,1024", "--json")
    assert out.exit_code == 0, out.output
    import json
    doc = json.loads(out.stdout)
    assert [b["points"] for b in doc["broken"]] == [1]


def test_require_is_a_keyword():
    with pytest.raises(SymparamError, match="keyword|reserved"):
        symparam.analyze("model m(require = 4):\n    input [require]\n")
