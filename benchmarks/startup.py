"""Where a cold `symparam count` spends its time, phase by phase, in one fresh process:

    python benchmarks/startup.py FILE [--model NAME]

Prints JSON: seconds for importing sympy, importing the rest of symparam and its CLI,
building the Lark parser, parsing, analyzing, and rendering the count.
"""
from __future__ import annotations

import json
import sys
import time

t0 = time.perf_counter()
import sympy  # noqa: E402

sympy.Symbol("x") + 1  # sympy finishes importing on the first sum (sympy.tensor)
t1 = time.perf_counter()
import symparam.cli  # noqa: E402,F401
from symparam import analyze, parser  # noqa: E402
from symparam.render import count_text  # noqa: E402

t2 = time.perf_counter()
parser._parser()
t3 = time.perf_counter()
path = sys.argv[1]
model = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--model" else None
doc = parser.parse_file(path)
t4 = time.perf_counter()
stats = analyze(doc, model=model)
total = stats.value(stats.total)
t5 = time.perf_counter()
text = count_text(stats)
t6 = time.perf_counter()
print(json.dumps({"import_sympy_s": t1 - t0, "import_symparam_s": t2 - t1,
                  "build_parser_s": t3 - t2, "parse_s": t4 - t3, "analyze_s": t5 - t4,
                  "render_s": t6 - t5, "total_in_process_s": t6 - t0, "params": total}))
