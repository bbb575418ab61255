"""Hostile, huge and odd input (issue 8, parsing and analysis): how long each case takes
and what it answers, for `count`, `count --json`, `summary` and `derive`.

Not part of the test suite (timings depend on the machine and its load; the tests in
tests/test_hostile_analysis.py check the answers under a watchdog). Each run is a cold
`python -m symparam COMMAND FILE` (interpreter start-up included, as a user sees it);
the start-up floor (`python -c "import symparam"`) is measured beside it. Target: every
case answers or is refused in under 2 s. docs/performance.md quotes the latest figures.

    python benchmarks/hostile.py                       # every case, every command
    python benchmarks/hostile.py --only pools4,rep10000 --commands count
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from symparam.limits import MAX_LAYERS, MAX_UNROLL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
COMMANDS = {"count": ["count"], "json": ["count", "--json"], "summary": ["summary"],
            "derive": ["derive"]}
TIMEOUT = 120  # seconds: a hang is reported as such


def _model(*lines: str, params: str = "d = 2", inputs: str = "[d]", head: str = "") -> str:
    return head + f"model m({params}):\n    input {inputs}\n" + "".join(
        f"    {line}\n" for line in lines)


def _pools(n: int) -> str:
    return _model(*["maxpool2d 3, stride = 2, ceil_mode = true"] * n, "flatten",
                  "dense 10", params="H = 224", inputs="[8, H, H]", head="convention torch\n")


def _mixed(n: int) -> str:
    """n layers (the input included) of the zoo's kinds: convolutions, batch norms,
    activations, residual bodies, pools, dropouts, then a classifier."""
    chunk = ["conv2d 16, 3, padding = same", "batchnorm", "relu", "residual:",
             "    conv2d 16, 3, padding = same", "    batchnorm", "relu", "maxpool2d 1",
             "dropout 0.1", "relu"]
    body = ["conv2d 16, 3, padding = same"] + chunk * ((n - 4) // 10)
    body += ["relu"] * (n - 4 - len(body) + 1)
    return _model(*body, "flatten", "dense 10", params="H = 32, C = 3", inputs="[H, H, C]")


def _deep_bodies() -> str:
    return _model(*[" " * 4 * i + "repeat 1:" for i in range(150)], " " * 600 + "dense d")


CASES = {
    # tracebacks
    "tower1000": _model("dense " + " ** ".join(["d"] * 1000)),
    "tower5": _model("dense d ** d ** d ** d ** d"),
    "dropout_pow": _model("dropout (d ** 1000) ** 1000"),
    # hangs
    "pow100": _model("dense d ** d ** 100"),
    "gru_layers": _model("gru 64, num_layers = 10**100", inputs="[d, d]"),
    "factor800": _model("dense 10**800 * h", "dense h", params="d = 2, h = 3"),
    "rep10000": _model("repeat 10000 as i:", "    dense d + i"),
    "lines10000": _model(*["dense d"] * 10_000),
    "mixed10000": _mixed(10_000),
    # the largest inputs the limits let through (MAX_UNROLL, MAX_LAYERS)
    "rep500": _model(f"repeat {MAX_UNROLL} as i:", "    dense d + i"),
    "lines2000": _model(*["dense d"] * (MAX_LAYERS - 1)),
    "mixed2000": _mixed(MAX_LAYERS - 1),
    "pools1": _pools(1), "pools2": _pools(2), "pools3": _pools(3), "pools4": _pools(4),
    "squeezenet": (ROOT / "zoo" / "squeezenet.symp").read_text(encoding="utf-8"),
    # nesting
    "minus2000": _model("dense " + "- " * 2000 + "d"),
    "brackets500": _model("dense " + "(" * 500 + "d" + ")" * 500),
    "bodies150": _deep_bodies(),
    # expressions (the follow-up): long chains, symbolic exponents, long messages
    "sum5000": _model("dense " + " + ".join(["d"] * 5000)),
    "sum10000": _model("dense " + " + ".join(["d"] * 10000)),
    "pow2k": _model("dense 2**k", params="k = 3, d = 2"),
    "line100k": _model("dense " + "d + " * 25000 + "zz"),
    "blocks100": "".join(f"block b{i}(u):\n    b{i + 1} u\n" for i in range(100))
                 + _model("b0 d"),
    # the last fuzzer hangs (tests/test_hangs_last.py): tokens, strided chains
    "minus100k": _model("dense " + "-" * 100_000 + "d"),
    "unclosed100k": _model("dense " + "(" * 100_000),
    "strided300": _model(*["conv2d 8, 3, stride = 2, padding = same"] * 300,
                         params="H = 2 ** 64, C = 3", inputs="[H, H, C]"),
    "strided300p1": _model(*["conv2d 8, 3, stride = 2, padding = 1"] * 300,
                           params="H = 2 ** 64, C = 3", inputs="[H, H, C]"),
    "strided30": _model(*["conv2d 8, 3, stride = 2, padding = same"] * 30,
                        params="H = 16, C = 3", inputs="[H, H, C]"),
    # the valid model once refused
    "pool_len2": _model("maxpool1d 3, stride = 2, ceil_mode = true", inputs="[8, d]",
                        head="convention torch\n"),
}


def run(path: Path, args: list[str]) -> tuple[float, float, str]:
    """Wall and CPU time of one cold command, and its outcome in one line. CPU time (the
    child's user + system) suffers less than wall time from other jobs on the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "symparam", *args, str(path)],
                              cwd=ROOT, env=ENV, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return TIMEOUT, TIMEOUT, f"HANG (no answer in {TIMEOUT} s)"
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode == 0:
        if "--json" in args:
            value = f"{json.loads(done.stdout)['total']['value']:,}"
        else:
            total = next((line for line in done.stdout.splitlines()
                          if "Total params" in line), "")
            value = total.split()[-1] if total else f"{len(done.stdout):,} characters"
        return elapsed, cpu, f"ok: {value[:40]}"
    if "Traceback" in done.stderr:
        return elapsed, cpu, "TRACEBACK: " + done.stderr.strip().splitlines()[-1][:100]
    first = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "?"
    first = re.sub(r"^error: \S+\.symp, ", "", first)
    return elapsed, cpu, f"exit {done.returncode}: {first[:120]}"


def startup() -> tuple[float, float]:
    """Median wall and CPU time of `import symparam` in a fresh interpreter."""
    walls, cpus = [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import symparam"], cwd=ROOT, env=ENV,
                       check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated cases (default: all)")
    parser.add_argument("--commands", default=",".join(COMMANDS),
                        help=f"comma-separated, of: {', '.join(COMMANDS)}")
    opts = parser.parse_args(argv)
    cases = opts.only.split(",") if opts.only else list(CASES)
    commands = opts.commands.split(",")
    wall, cpu = startup()
    print(f"start-up floor (python -c 'import symparam'): {wall:.2f} s wall, {cpu:.2f} s "
          f"CPU; load average {os.getloadavg()[0]:.1f}\n")
    print("| case | command | wall (s) | CPU (s) | outcome |\n|---|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in cases:
            path = Path(folder) / f"{name}.symp"
            path.write_text(CASES[name], encoding="utf-8")
            for command in commands:
                elapsed, cpu, outcome = run(path, COMMANDS[command])
                print(f"| {name} | {' '.join(COMMANDS[command])} | {elapsed:.2f} | "
                      f"{cpu:.2f} | {outcome.replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
