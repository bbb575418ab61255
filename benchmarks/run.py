"""symparam's speed benchmarks, side by side in one run: ``python benchmarks/run.py``.

Not part of the test suite (timings depend on the machine and its load). Prints a
Markdown report and writes ``benchmarks/results.json`` and ``benchmarks/results.md``;
``docs/performance.md`` quotes the latest results.

    python benchmarks/run.py            # everything (several minutes: Keras is slow)
    python benchmarks/run.py --quick    # fewer repetitions, no Keras
    python benchmarks/run.py --only sweep,depth

Benchmarks (targets from issue 5):
  count    `symparam count` cold (interpreter start included) on every shipped example
           and zoo model: median <= 1 s; >= 5x faster than building the same model in
           Keras 3 and calling count_params() (also cold).
  repeat   a repeat over 1, 10^9 and a symbolic number of times: the time must not grow
           with the count (10^9 within 1.2x of 1).
  depth    a chain of 1,000 distinct layers analyzed in <= 2 s; 2,000 in <= 2.2x that.
  sweep    1,000,000 grid points in <= 1 s once the formula exists; >= 100x faster than
           substituting point by point.
  gpt3     GPT-3 175B sizes counted exactly (174,604,259,328) well under a second.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch"}
GPT2 = ROOT / "benchmarks" / "models" / "gpt2.symp"
GPT3 = {"V": 50257, "T": 2048, "d": 12288, "L": 96, "H": 96}
GPT3_PARAMS = 174_604_259_328
KERAS_APPS = {"vgg16": "VGG16", "resnet50": "ResNet50", "mobilenetv2": "MobileNetV2"}
HAND_BUILT = ("gpt2", "gpt2_untied", "imdb_lstm")  # models benchmarks/keras_count.py writes


def wall(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def best_of(fn, repeat: int) -> float:
    """Median of ``repeat`` timings of ``fn()`` (in-process)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": cpu, "cores": os.cpu_count(), "load_average": [round(x, 2) for x in load],
            "when": time.strftime("%Y-%m-%d %H:%M %Z")}


# ---- count, cold, against Keras -------------------------------------------------------

def shipped_models() -> list[tuple[Path, str]]:
    from symparam import parse_file
    out = []
    for folder in (ROOT / "docs" / "examples", ROOT / "zoo"):
        for path in sorted(folder.glob("*.symp")):
            for name in parse_file(path).models:
                out.append((path, name))
    return out


def keras_graph(path: Path, model: str, tmp: Path):
    """A pickled oracle graph of the model in Keras's convention, or the reason there
    is none (a layer kind the Keras builder cannot make)."""
    import symparam
    from tests.oracle import keras_build
    from tests.oracle.graph import build_graph
    stats = symparam.analyze(path, model=model, convention="keras")
    graph = build_graph(stats)
    missing = sorted({n.kind for n in graph.nodes if n.kind != "input"
                      and n.kind not in keras_build.BUILDERS})
    if missing:
        return None, f"no Keras builder for {', '.join(missing)}", None
    out = tmp / f"{path.stem}-{model}.pkl"
    out.write_bytes(pickle.dumps(graph))
    return out, "", stats.value(stats.total)


FLOOR = [PY, "-c", "import sympy; sympy.Symbol('x') + 1"]


def bench_floor(repeat: int) -> dict:
    """What any sympy-based tool pays before doing anything: the interpreter, then
    importing sympy and building one sum (sympy finishes importing on the first Add)."""
    py = statistics.median(wall([PY, "-c", "pass"])[0] for _ in range(repeat))
    sym = statistics.median(wall(FLOOR)[0] for _ in range(repeat))
    return {"python_s": py, "sympy_s": sym}


def bench_count(repeat: int, keras_repeat: int, only_models=None) -> list[dict]:
    import symparam
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, model in shipped_models():
            if only_models and model not in only_models:
                continue
            rel = path.relative_to(ROOT)
            times, floors, out = [], [], ""
            for _ in range(repeat):  # the floor interleaved: the same moments, the same load
                floors.append(wall(FLOOR)[0])
                t, out = wall([PY, "-m", "symparam", "count", str(rel), "--model", model])
                times.append(t)
            stats = symparam.analyze(path, model=model)
            keras_stats = symparam.analyze(path, model=model, convention="keras")
            row = {"file": str(rel), "model": model, "symparam_s": statistics.median(times),
                   "symparam_runs": times, "count": stats.value(stats.total),
                   "count_keras_convention": keras_stats.value(keras_stats.total),
                   "floor_s": statistics.median(floors)}
            if keras_repeat:
                row.update(bench_keras(path, model, Path(tmp), keras_repeat))
            rows.append(row)
            print(f"  count {rel} {model}: {row['symparam_s']:.3f} s"
                  + (f", keras {row['keras_s']:.3f} s" if row.get("keras_s") else
                     f", keras: {row.get('keras_note', 'skipped')}"), file=sys.stderr)
    return rows


def bench_keras(path: Path, model: str, tmp: Path, repeat: int) -> dict:
    if model in HAND_BUILT:
        cmd = [PY, str(ROOT / "benchmarks" / "keras_count.py"), "--hand", model]
        how = "Keras layers written by hand (benchmarks/keras_count.py)"
    elif path.stem in KERAS_APPS:
        cmd = [PY, str(ROOT / "benchmarks" / "keras_count.py"), "--app", KERAS_APPS[path.stem]]
        how = f"keras.applications.{KERAS_APPS[path.stem]}"
    else:
        pkl, why, _ = keras_graph(path, model, tmp)
        if pkl is None:
            return {"keras_note": why}
        cmd = [PY, str(ROOT / "benchmarks" / "keras_count.py"), "--graph", str(pkl)]
        how = "Keras layers built from the model's graph"
    times, count = [], None
    for _ in range(repeat):
        t, out = wall(cmd)
        info = json.loads(out.strip().splitlines()[-1])
        times.append(t - info["overhead_s"])
        count = info["count"]
    return {"keras_s": statistics.median(times), "keras_runs": times, "keras_count": count,
            "keras_how": how}


def bench_startup(repeat: int) -> dict:
    """Phase timings of a cold count (benchmarks/startup.py), median per phase."""
    out = {}
    for rel in ("docs/examples/seed000.symp", "zoo/resnet50.symp", str(GPT2.relative_to(ROOT))):
        runs = [json.loads(wall([PY, str(ROOT / "benchmarks" / "startup.py"), rel])[1])
                for _ in range(repeat)]
        out[rel] = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "params"}
    return out


# ---- in-process benchmarks -------------------------------------------------------------

def chain_source(n: int) -> str:
    """A model of ``n`` distinct layers (each its own statement, widths differ)."""
    lines = ["model chain(n = 64):", "    input [n]"]
    lines += [f"    dense {16 + i % 97}" for i in range(n)]
    return "\n".join(lines) + "\n"


def bench_depth(repeat: int) -> dict:
    import symparam
    out = {}
    for n in (1000, 2000):
        src = chain_source(n)

        def run():
            s = symparam.analyze(src)  # noqa: B023 (called at once)
            assert s.value(s.total) is not None
        out[n] = best_of(run, repeat)
    return {"layers_1000_s": out[1000], "layers_2000_s": out[2000],
            "ratio": out[2000] / out[1000]}


def bench_repeat(repeat: int) -> dict:
    """GPT-2's `repeat L:` block at L = 1, L = 10^9 and L symbolic: analysis and the
    exact count must not grow with L."""
    import symparam
    src = GPT2.read_text()

    def run(values, symbolic=False):
        s = symparam.analyze(src, values=values, symbolic=symbolic)
        return s.value(s.total) if not symbolic else s.total
    out = {"1": best_of(lambda: run({"L": 1}), repeat),
           "1e9": best_of(lambda: run({"L": 10**9}), repeat),
           "symbolic": best_of(lambda: run({}, symbolic=True), repeat)}
    d, V, T = 768, 50257, 1024
    assert run({"L": 10**9}) == V * d + T * d + 10**9 * (12 * d * d + 13 * d) + 2 * d
    return {"count_1_s": out["1"], "count_1e9_s": out["1e9"], "symbolic_s": out["symbolic"],
            "ratio_1e9": out["1e9"] / out["1"]}


def bench_sweep(repeat: int) -> dict:
    import random

    import sympy

    import symparam
    from symparam.analysis.sweep import sweep

    stats = symparam.analyze(GPT2)
    grid = [("d", list(range(64, 64 * 1001, 64))), ("L", list(range(1, 1001)))]
    result = {}
    t = best_of(lambda: result.setdefault("r", sweep(stats, grid, ["params"])), 1)
    vector = best_of(lambda: sweep(stats, grid, ["params"]), repeat)
    r = result["r"]
    expr = stats.total.xreplace({s: v for s, v in stats.values.items()
                                 if s.name not in ("d", "L")})
    d, L = (next(s for s in stats.symbols if s.name == n) for n in ("d", "L"))
    rng = random.Random(1)
    sample = [rng.randrange(r.size) for _ in range(2000)]
    t0 = time.perf_counter()
    for i in sample:
        v = expr.xreplace({d: sympy.Integer(int(r.columns["d"][i])),
                           L: sympy.Integer(int(r.columns["L"][i]))})
        assert int(v) == int(r.columns["params"][i])
    per_point = (time.perf_counter() - t0) / len(sample)
    return {"points": r.size, "sweep_s": vector, "first_sweep_s": t,
            "mode": r.modes["params"], "subs_per_point_s": per_point,
            "subs_estimated_s": per_point * r.size,
            "speedup": per_point * r.size / vector}


def bench_gpt3(repeat: int) -> dict:
    import symparam
    src = GPT2.read_text()
    s = symparam.analyze(src, values=GPT3)
    assert s.value(s.total) == GPT3_PARAMS
    warm = best_of(lambda: symparam.analyze(src, values=GPT3).total, repeat)
    sets = ",".join(f"{k}={v}" for k, v in GPT3.items())
    cold = []
    for _ in range(repeat):
        t, out = wall([PY, "-m", "symparam", "count", str(GPT2.relative_to(ROOT)), "--set",
                       sets])
        assert f"{GPT3_PARAMS:,}" in out
        cold.append(t)
    return {"params": GPT3_PARAMS, "analyze_s": warm, "cold_cli_s": statistics.median(cold)}


# ---- report ----------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def report(res: dict) -> str:
    m = res["machine"]
    lines = ["# Benchmark results", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
             f"load average at start {m['load_average']}; {m['when']}.", ""]
    loads = res.get("load_average", {})
    if loads:
        lines += ["Load average (1, 5, 15 min) when each benchmark started: "
                  + "; ".join(f"{k} {v}" for k, v in loads.items()) + ".", ""]
    if "count" in res:
        lines += ["## `symparam count`, cold (interpreter start included)", "",
                  "| model | params | symparam (median) | sympy floor, same moments | "
                  "Keras 3 build + count_params (median) | speedup | Keras's count_params() "
                  "against symparam's in convention keras |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in res["count"]:
            k = r.get("keras_s")
            kc = r.get("keras_count")
            same = "" if kc is None else ("same" if kc == r.get("count_keras_convention")
                                          else f"{kc:,} (differs)")
            lines.append(f"| {r['file']} `{r['model']}` | {r.get('count', 0):,} | "
                         f"{r['symparam_s']:.2f} s | "
                         + (f"{r['floor_s']:.2f} s | " if "floor_s" in r else "| ")
                         + (f"{k:.2f} s | {k / r['symparam_s']:.1f}x | {same} |" if k else
                            f"{r.get('keras_note', 'not run')} | | |"))
        over = [r["symparam_s"] - r["floor_s"] for r in res["count"] if "floor_s" in r]
        meds = [r["symparam_s"] for r in res["count"]]
        ups = [r["keras_s"] / r["symparam_s"] for r in res["count"] if r.get("keras_s")]
        f = res.get("floor")
        if f:
            lines += ["", f"For scale, on the same machine in the same run: starting Python "
                          f"takes {f['python_s']:.2f} s, and starting Python, importing sympy "
                          f"and adding two terms takes {f['sympy_s']:.2f} s (the floor for "
                          f"any sympy-based tool)."]
        if over:
            lines += ["", f"symparam's own share (its median minus the sympy floor measured "
                          f"between its runs): median {statistics.median(over):.2f} s."]
        lines += ["", f"Median over models: {statistics.median(meds):.2f} s "
                      f"(target <= 1 s: {verdict(statistics.median(meds) <= 1)}); "
                      f"slowest {max(meds):.2f} s."]
        if ups:
            lines.append(f"Speedup against Keras: from {min(ups):.1f}x to {max(ups):.1f}x "
                         f"(target >= 5x: {verdict(min(ups) >= 5)}).")
        lines.append("")
    if "startup" in res:
        phases = ("import_sympy_s", "import_symparam_s", "build_parser_s", "parse_s",
                  "analyze_s", "render_s", "total_in_process_s")
        lines += ["## Where a cold count spends its time (median per phase)", "",
                  "| model | " + " | ".join(p[:-2].replace("_", " ") for p in phases) + " |",
                  "|---|" + "---:|" * len(phases)]
        for rel, r in res["startup"].items():
            lines.append(f"| {rel} | " + " | ".join(f"{r[p]:.3f}" for p in phases) + " |")
        lines.append("")
    if "repeat" in res:
        r = res["repeat"]
        lines += ["## Repeat over a huge or symbolic count (GPT-2's `repeat L:`, in process)", "",
                  f"repeat 1: {r['count_1_s'] * 1e3:.1f} ms; repeat 10^9: "
                  f"{r['count_1e9_s'] * 1e3:.1f} ms; repeat N (symbolic): "
                  f"{r['symbolic_s'] * 1e3:.1f} ms. Ratio 10^9 / 1 = {r['ratio_1e9']:.2f} "
                  f"(target <= 1.2: {verdict(r['ratio_1e9'] <= 1.2)}).", ""]
    if "depth" in res:
        r = res["depth"]
        lines += ["## Depth: a chain of distinct layers", "",
                  f"1,000 layers: {r['layers_1000_s']:.2f} s (target <= 2 s: "
                  f"{verdict(r['layers_1000_s'] <= 2)}); 2,000 layers: "
                  f"{r['layers_2000_s']:.2f} s, {r['ratio']:.2f}x (target <= 2.2x: "
                  f"{verdict(r['ratio'] <= 2.2)}).", ""]
    if "sweep" in res:
        r = res["sweep"]
        lines += ["## Sweep of 1,000,000 points (GPT-2 layout, d x L)", "",
                  f"{r['points']:,} points in {r['sweep_s']:.3f} s ({r['mode']} arithmetic, "
                  f"exact; target <= 1 s: {verdict(r['sweep_s'] <= 1)}). Substituting "
                  f"point by point: {r['subs_per_point_s'] * 1e6:.0f} µs a point, "
                  f"≈ {r['subs_estimated_s']:.0f} s for the grid: {r['speedup']:,.0f}x "
                  f"(target >= 100x: {verdict(r['speedup'] >= 100)}).", ""]
    if "gpt3" in res:
        r = res["gpt3"]
        lines += ["## GPT-3 175B sizes", "",
                  f"{r['params']:,} parameters, exactly: analyze {r['analyze_s'] * 1e3:.0f} ms "
                  f"in process; `symparam count` cold {r['cold_cli_s']:.2f} s.", ""]
    return "\n".join(lines)


def fill_counts(res: dict) -> None:
    """Counts for rows of an older run that lack them (the file's convention, and
    Keras's, which the Keras column is compared with)."""
    import symparam
    for r in res.get("count", []):
        for key, conv in (("count", None), ("count_keras_convention", "keras")):
            if key not in r:
                st = symparam.analyze(ROOT / r["file"], model=r["model"], convention=conv)
                r[key] = st.value(st.total)


BENCHES = ("count", "startup", "repeat", "depth", "sweep", "gpt3")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no Keras")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--models", default="", help="count: only these models (comma-separated)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    ap.add_argument("--report-only", action="store_true",
                    help="only rewrite results.md from OUT/results.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other benchmarks' results already in OUT/results.json")
    args = ap.parse_args(argv)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    if args.report_only:
        res = json.loads((args.out / "results.json").read_text())
        fill_counts(res)
        (args.out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
        (args.out / "results.md").write_text(report(res) + "\n")
        print(report(res))
        return 0
    rep = 3 if args.quick else 5
    res = {"machine": machine()}
    if args.merge and (args.out / "results.json").exists():
        res = {**json.loads((args.out / "results.json").read_text()), **res}
    for name in only:
        print(f"running {name} ...", file=sys.stderr)
        res.setdefault("load_average", {})[name] = [round(x, 2) for x in os.getloadavg()]
        if name == "count":
            res["floor"] = bench_floor(rep)
            rows = bench_count(rep, 0 if (args.quick or args.no_keras) else 3,
                               [m for m in args.models.split(",") if m])
            if args.models and "count" in res:  # replace those models' rows, keep the rest
                new = {(r["file"], r["model"]): r for r in rows}
                rows = [new.pop((r["file"], r["model"]), r) for r in res["count"]]
                rows += list(new.values())
            res["count"] = rows
        elif name == "startup":
            res["startup"] = bench_startup(rep)
        elif name == "repeat":
            res["repeat"] = bench_repeat(rep * 4)
        elif name == "depth":
            res["depth"] = bench_depth(rep)
        elif name == "sweep":
            res["sweep"] = bench_sweep(rep)
        elif name == "gpt3":
            res["gpt3"] = bench_gpt3(rep)
        else:
            ap.error(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}")
    fill_counts(res)
    text = report(res)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.out / "results.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
