"""Issue 8 follow-up: `solve` on metrics that do not grow with the symbol (falling,
stepped, several crossings), each proposed value checked against `count --set`; and
`memory`'s note about layers that never reach the output."""
from __future__ import annotations

from test_hostile_answers import count_params, run, write  # `count --set`, as there

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
