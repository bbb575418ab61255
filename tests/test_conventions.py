"""docs/conventions.md: every row of its tables has an example, and every example's
numbers (measured with Keras and PyTorch, written in the doc) are symparam's numbers in
both conventions."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import symparam
from symparam import SymparamError

DOC = Path(__file__).resolve().parent.parent / "docs" / "conventions.md"
ROW = re.compile(r"^\| ([A-Z]+\d+) \|", re.M)
SECTION = re.compile(r"^### ([A-Z]+\d+) ", re.M)
EXAMPLE = re.compile(r"```symparam\n(.*?)```\s*\nCounts: ([^\n]*)\n", re.S)
SIDE = re.compile(r"^(Keras|PyTorch) (error|[\d,]+)(?: \((.*)\))?$")
DETAIL = re.compile(r"^(trainable|non-trainable|buffers) ([\d,]+)$|^shape \[(.*)\]$")


def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = list(SECTION.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return {m.group(1): text[m.start():end] for m, end in zip(found, ends)}


def expected(side: str) -> dict | None:
    """The numbers one side of a Counts line states; None for `error`."""
    m = SIDE.match(side.strip())
    assert m, f"cannot read {side!r}: see 'How each example is written'"
    name, total, details = m.groups()
    if total == "error":
        return None
    out = {"total": int(total.replace(",", ""))}
    for item in filter(None, (details or "").split(";")):
        d = DETAIL.match(item.strip())
        assert d, f"cannot read {item!r} in {side!r}"
        if d.group(3) is not None:
            out["shape"] = tuple(int(x) for x in d.group(3).split(","))
        else:
            out[d.group(1)] = int(d.group(2).replace(",", ""))
    return out


def measured(s: symparam.ModelStats) -> dict:
    return {"total": s.value(s.total), "trainable": s.value(s.trainable),
            "non-trainable": s.value(s.non_trainable), "buffers": s.value(s.buffers),
            "shape": s.shape_at(s.layers[-1].output_shape)}


def test_every_row_has_its_example():
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert rows and len(rows) == len(set(rows)), "a row id is used twice"
    assert sorted(rows) == sorted(sections()), "rows and ### sections must match"


@pytest.mark.parametrize("rid", sorted(sections()))
def test_example_counts(rid):
    found = EXAMPLE.search(sections()[rid])
    assert found, f"{rid}: no ```symparam example followed by a Counts: line"
    source, counts = found.groups()
    sides = counts.split(" · ")
    assert [s.split()[0] for s in sides] == ["Keras", "PyTorch"], counts
    for convention, side in zip(("keras", "torch"), sides):
        want = expected(side)
        if want is None:
            with pytest.raises(SymparamError):
                symparam.analyze(source, convention=convention)
            continue
        got = measured(symparam.analyze(source, convention=convention))
        assert {k: got[k] for k in want} == want, f"{rid} in convention {convention}"
