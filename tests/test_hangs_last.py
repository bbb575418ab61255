"""The last hangs of issue 8, found by the fuzzer (`python3 -m fuzz`): each case ends
with the clear error naming its limit, or with the right answer.

Each case runs under a generous watchdog (signal.alarm): it guards against a hang, not
a speed target (the 2 s target is measured by benchmarks/hostile.py and
benchmarks/hostile_templates.py, with figures in docs/performance.md).
"""
from __future__ import annotations

import pytest
from test_hostile_analysis import watchdog  # the same watchdog (signal.alarm)

from symparam import SymparamError, analyze
from symparam.limits import MAX_TEMPLATE_STEPS, TEMPLATE_MACRO_STEPS
from symparam.render.document import render_template

SMALL = "model m(n = 4, h = 2):\n    input [n]\n    dense h\n"


def render(tmp_path, text: str, source: str = SMALL) -> str:
    path = tmp_path / "t.md"
    path.write_text(text)
    stats = analyze(source)
    with watchdog():
        return render_template(stats, path)


# ---- templates: a macro call costs TEMPLATE_MACRO_STEPS ------------------------------

DOUBLING = ("{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}"
            "{% endmacro %}{{ f(0) }}")


@pytest.mark.parametrize("text", [
    DOUBLING,
    DOUBLING.replace("{{ f(n + 1) }}{{ f(n + 1) }}", "{{ f(n + 1) ~ f(n + 1) }}"),
    "{% for x in [0] recursive %}{% if x < 40 %}{{ loop([x + 1, x + 1]) }}{% endif %}"
    "{% endfor %}",
])
def test_a_macro_doubling_its_calls_stops_at_the_step_limit(tmp_path, text):
    with pytest.raises(SymparamError) as err:
        render(tmp_path, text)
    assert f"line 1: the template takes more than {MAX_TEMPLATE_STEPS:,} steps" in \
        str(err.value)


def test_a_macro_call_counts_more_steps_than_a_filter_call(tmp_path):
    calls = MAX_TEMPLATE_STEPS // (TEMPLATE_MACRO_STEPS + 1) + 1  # over the limit
    assert calls * 3 < MAX_TEMPLATE_STEPS  # the same loop with a filter stays inside
    loop = "{% for i in range(" + str(calls) + ") %}BODY{% endfor %}"
    out = render(tmp_path, loop.replace("BODY", "{{ i | string | length }}"))
    assert len(out) == sum(len(str(len(str(i)))) for i in range(calls))
    with pytest.raises(SymparamError, match=f"more than {MAX_TEMPLATE_STEPS:,} steps"):
        render(tmp_path, "{% macro f() %}.{% endmacro %}" + loop.replace("BODY", "{{ f() }}"))
