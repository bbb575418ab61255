"""How fast hostile templates are refused, and what the sandbox costs a real one:

    python benchmarks/hostile_templates.py

Renders each template in process (interpreter start-up excluded) against a small
model and prints, as a Markdown table, the seconds until the render ended and how it
ended; then the shipped derivations of ResNet-50 (steps and characters built, against
the limits) and reading back ResNet-50's total with ``read_formula``. Target: every
hostile template refused within 2 s, except the one that only the time limit
(``MAX_TEMPLATE_SECONDS``) can stop.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symparam import SymparamError, analyze  # noqa: E402
from symparam.render import read_formula  # noqa: E402
from symparam.render import sandbox  # noqa: E402
from symparam.render.document import derivation, render_template  # noqa: E402
from symparam.render.fmt import formula  # noqa: E402

HOSTILE = [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ 'x' * 10**10 }}",
    "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{{ (10 ** 5000) | string }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% include 't.md' %}",
    "{{ at((\"__import__('os').getcwd()\",)) }}",
    "{{ 'x' | center(10**9) }}",
    "{{ range(100000) | map('string') | map('center', 100000) | join }}",
    "{{ math.align('x', [['a'] * 1000000], 10**9) | length }}",
    # a macro doubling its calls 40 deep (the fuzzer's last template hangs)
    "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
    "{{ f(0) }}",
    "{% for x in [0] recursive %}{% if x < 40 %}{{ loop([x + 1, x + 1]) }}{% endif %}"
    "{% endfor %}",
]


def _time(fn) -> tuple[float, float, str]:
    """Wall and CPU seconds of ``fn()`` (CPU time suffers less from other jobs on the
    machine), and how it ended."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        fn()
        outcome = "rendered"
    except SymparamError as err:
        outcome = str(err).split(": ", 2)[-1].split(" (")[0]
    return time.perf_counter() - start, time.process_time() - cpu, outcome


def main() -> None:
    stats = analyze("model m(n = 4, h = 2):\n    input [n]\n    dense h\n")
    folder = Path(tempfile.mkdtemp())
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print("| template | wall (s) | CPU (s) | outcome |\n|---|---:|---:|---|")
    for body in HOSTILE:
        path = folder / "t.md"
        path.write_text(body)
        seconds, cpu, outcome = _time(lambda: render_template(stats, path))  # noqa: B023 (called at once)
        cell = body.replace("|", "\\|")
        print(f"| `{cell}` | {seconds:.2f} | {cpu:.2f} | {outcome} |")

    peak = {"steps": 0, "built": 0}
    step = sandbox._Budget.step

    def counting(self, steps=1):
        step(self, steps)
        peak["steps"], peak["built"] = max(peak["steps"], self.steps), max(peak["built"],
                                                                          self.built)
    sandbox._Budget.step = counting
    resnet = analyze(ROOT / "zoo" / "resnet50.symp")
    print("\n| ResNet-50 derivation | seconds | steps | characters built | output |\n"
          "|---|---|---|---|---|")
    for fmt_name in ("latex", "markdown", "text"):
        peak.update(steps=0, built=0)
        start = time.perf_counter()
        out = derivation(resnet, fmt_name)
        print(f"| {fmt_name} | {time.perf_counter() - start:.2f} | {peak['steps']:,} | "
              f"{peak['built']:,} | {len(out):,} |")
    sandbox._Budget.step = step

    text = formula(resnet.total)
    names = [s.name for s in resnet.symbols]
    start = time.perf_counter()
    for _ in range(10):
        assert read_formula(text, names) == resnet.total
    print(f"\nread_formula of ResNet-50's total ({len(text):,} characters): "
          f"{(time.perf_counter() - start) / 10 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
