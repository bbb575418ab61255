"""The fuzzer's harness (fuzz/): it must be able to fail. Planted faults, run by a
fake target through the real pool and classifier, must land in their classes; a
short real run must finish with every input classified.

The fuzzer itself is run on demand (python3 -m fuzz; docs/testing.md, "Fuzzing").
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz import classify as C  # noqa: E402
from fuzz.cases import SOURCE, TEMPLATE, Case, make_case  # noqa: E402
from fuzz.gen_templates import CANARY_FILE  # noqa: E402
from fuzz.run import fuzz  # noqa: E402
from symparam import SourceError  # noqa: E402

TEXT = "model m(n = 4):\n    input [n]\n    dense 2\n"
PLANTED = {
    "traceback": C.TRACEBACK, "sleep": C.HANG, "spin": C.HANG, "wrong line": C.WRONG_LINE,
    "shown line": C.WRONG_LINE, "canary": C.ESCAPE, "repr": C.ESCAPE, "clear": C.CLEAR,
}


class _ShowsLine2(SourceError):
    """Names line 3 but shows line 2 under it."""

    def __str__(self) -> str:
        return "line 3, column 5: planted\n        input [n]\n        ^"


def fake_target(case: Case) -> list[str]:
    """Faults planted by the case's note; any other case is fine."""
    plant = case.note
    if plant == "traceback":
        raise ValueError("planted")
    if plant == "sleep":  # past WALL_FACTOR limits of wall time, without computing
        time.sleep(60)
    if plant == "spin":  # past the limit of CPU time
        while True:
            pass
    if plant == "wrong line":  # a line the text does not have
        raise SourceError("planted", line=9, column=1, source=case.text)
    if plant == "shown line":
        raise _ShowsLine2("planted", line=3, column=5, source=case.text)
    if plant == "canary":
        Path(CANARY_FILE).write_text("x")
    if plant == "repr":
        return [f"{fake_target}"]
    if plant == "clear":
        raise SourceError("planted", line=3, column=5, source=case.text)
    return ["fine"]


def planted_cases(seed: int, i: int) -> Case:
    plants = list(PLANTED)
    if i < len(plants):
        kind = TEMPLATE if plants[i] == "repr" else SOURCE
        return Case("planted", kind, TEXT, note=plants[i])
    return make_case(seed, i)


def test_planted_faults_land_in_their_classes(tmp_path):
    report = fuzz(200, 7, jobs=1, timeout=1.0, target=fake_target, findings=tmp_path,
                  make=planted_cases, shrink_budget=5)
    counts = report["counts"]
    assert counts[C.TRACEBACK] == 1
    assert counts[C.HANG] == 2
    assert counts[C.WRONG_LINE] == 2
    assert counts[C.ESCAPE] == 2
    assert counts[C.CLEAR] == 1
    assert counts[C.OK] == 200 - len(PLANTED)
    saved = {p.parent.name for p in tmp_path.rglob("*.txt")}
    assert saved == {"traceback", "hang", "wrong_line", "template_escape"}
    signatures = {g["signature"] for g in report["findings"]}
    assert any(s.startswith("ValueError") and "fake_target" in s for s in signatures)


def test_inputs_are_reproducible_from_the_seed():
    assert [make_case(3, i) for i in range(200)] == [make_case(3, i) for i in range(200)]
    assert [make_case(3, i) for i in range(20)] != [make_case(4, i) for i in range(20)]


@pytest.mark.parametrize("line, column, text, shown, expect, rule", [
    (2, 1, "a\nb\n", None, 0, None),
    (4, 1, "a\nb\n", None, 0, "no such line"),
    (1, 9, "abc\n", None, 0, "no such column"),
    (3, 1, "a\nb\nc\n", None, 2, "after the mark"),
    # Python's splitlines breaks at U+2028: line 3 shown as the piece after it.
    (3, 1, "a\u2028x\nb\nc\n", "line 3: e\n    x\n    ^", 0, "another line shown"),
    (1, 1, "ab\x0ccd\n", "line 1: e\n    ab\n    ^", 0, None),  # cut at \f: same line
    (2, 2, "a\r\nbc\r\n", "line 2: e\n    bc\n     ^", 0, None),
    (1, 3, "a\tb c\n", "line 1: e\n    a       b c\n            ^", 0, None),
    # a window of a long line expands its tabs from its own start (errors.window)
    (1, 476, "0" * 474 + "\t" + "0" * 60 + "\n", "line 1: e\n    ..." + "0" * 49 + "    " +
     "0" * 50 + "...\n" + " " * 60 + "^", 0, None),
    (1, 476, "0" * 474 + "1" + "0" * 60 + "\n", "line 1: e\n    ..." + "0" * 49 + "    " +
     "0" * 50 + "...\n" + " " * 60 + "^", 0, "another line shown"),
])
def test_line_rules(line, column, text, shown, expect, rule):
    problem = C.line_problem(line, column, text, shown, expect)
    assert (problem[0] if problem else None) == rule


def test_the_documented_command_classifies_every_input(tmp_path):
    run = subprocess.run([sys.executable, "-m", "fuzz", "--inputs", "30", "--seed", "11",
                          "--timeout", "10", "--no-shrink", "--json", "-", "--findings",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert sum(report["counts"].values()) == 30
    assert report["counts"][C.OK] + report["counts"][C.CLEAR] > 0
