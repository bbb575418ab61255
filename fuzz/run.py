"""The fuzzer's command line.

    python3 -m fuzz --inputs 100000 --seed 1 --jobs 2 --timeout 2 [--json FILE]
    python3 -m fuzz --inputs 100000 --start 40000 ...   # inputs 40,000 to 99,999 only
    python3 -m fuzz --only 1234 --seed 1          # make and run one input again
    python3 -m fuzz --replay fuzz/findings/hang/0123abcd.txt

Counts per outcome class (and per generator) are printed at the end, then the
findings grouped by class and signature, a few each, with their shrunk
reproductions; every finding is saved to ``fuzz/findings/<class>/<hash>.txt``.
The time limit is on each input's CPU time (``--clock cpu``, the default; see
:mod:`fuzz.pool`), or on its wall time (``--clock wall``). With ``--json FILE``, the
counts so far are written to FILE every 1,000 inputs (``"partial": true``), so a run
stopped early still leaves them; ``--start`` runs the rest of a seed's inputs.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

if __package__ in (None, ""):  # `python3 fuzz/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "fuzz"  # noqa: A001

from fuzz import classify as C  # noqa: E402
from fuzz.cases import Case, make_case  # noqa: E402
from fuzz.pool import Pool  # noqa: E402
from fuzz.shrink import shrink  # noqa: E402
from fuzz.target import Result, run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = ROOT / "fuzz" / "findings"
SLOW = 2.0          # seconds: an input that took longer is listed, whatever the limit
SHRINK_PER_SIGNATURE = 1
SHRINK_SECONDS = 240  # shrinking stops after this long (findings are still saved, whole)
CONFIRM_PER_SIGNATURE = 1  # hangs run again alone; past that, a hang where one hung counts
SHOWN_PER_CLASS = 4


def case_json(case: Case) -> str:
    return json.dumps(dataclasses.asdict(case), sort_keys=True)


def case_from_json(text: str) -> Case:
    data = json.loads(text)
    data["argv"] = tuple(data.get("argv", ()))
    data["values"] = tuple(tuple(v) for v in data.get("values", ()))
    return Case(**data)


def _digest(case: Case) -> str:
    return hashlib.sha1(case_json(case).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _show(text: str, limit: int = 600) -> str:
    shown = text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"
    return "".join(c if c in "\n\t" or (c.isprintable() and c != "\u2028") else
                   repr(c)[1:-1] for c in shown)


def _describe(case: Case) -> str:
    lines = [f"generator: {case.gen}  kind: {case.kind}"]
    if case.note:
        lines.append(f"mutation: {case.note}")
    if case.expect_line:
        lines.append(f"expected line: {case.expect_line} or earlier")
    if case.argv:
        lines.append("argv: symparam " + " ".join(case.argv))
    if case.convention or case.values:
        lines.append(f"convention: {case.convention}  values: {dict(case.values)}")
    if case.source:
        lines.append("model:\n" + _show(case.source))
    lines.append(("template " + case.name if case.kind == "template" else "text") + ":")
    lines.append(_show(case.text, 4000))
    return "\n".join(lines)


def save(folder: Path, seed: int, index: int, case: Case, result: Result,
         small: Case | None) -> Path:
    path = folder / result.cls.replace(" ", "_") / f"{_digest(case)}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"class: {result.cls}", f"signature: {result.signature}",
             f"detail: {result.detail}", f"seconds: {result.seconds:.2f}",
             f"seed: {seed}  input: {index}  (python3 -m fuzz --seed {seed} --only {index})",
             "", _describe(case)]
    if small is not None and small != case:
        parts += ["", "---- shrunk ----", _describe(small)]
    parts += ["", "---- case (json, for --replay) ----", case_json(small or case)]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8", errors="surrogateescape")
    return path


def _relative(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def _count(i, case, result, counts, by_gen, found, slow) -> None:
    by_gen[case.gen]["_seconds"] += result.seconds
    if result.seconds > SLOW and result.cls != C.HANG:
        slow.append((i, case.gen, round(result.seconds, 2), result.cls))
    counts[result.cls] += 1
    by_gen[case.gen][result.cls] += 1
    if result.cls not in (C.OK, C.CLEAR):
        found.append((i, case, result))


def _order(group) -> tuple:
    """Hangs last (shrinking one costs the time limit per try), then by class, the
    most frequent signature first."""
    (cls, _), members = group
    return cls == C.HANG, cls, -len(members)


def fuzz(inputs: int, seed: int, jobs: int, timeout: float, target=run,
         findings: Path | None = FINDINGS, shrink_budget: int = 150,
         make=make_case, progress=None, clock: str = "cpu", start_at: int = 0,
         checkpoint: Path | None = None) -> dict:
    """Run inputs ``start_at`` to ``inputs - 1`` of the seed; returns the report
    (counts, findings, timings). ``checkpoint``: a file the counts so far are written to
    every 1,000 inputs."""
    counts: Counter = Counter()
    by_gen: dict = defaultdict(Counter)
    found: list = []
    slow: list = []
    start, commit = time.monotonic(), _commit()  # the code the run starts with
    with Pool(jobs, timeout, target, clock=clock) as pool:
        cases = ((i, make(seed, i)) for i in range(start_at, inputs))
        hangs = []
        for n, (i, case, result) in enumerate(pool.map(cases), 1):
            if progress is not None:
                progress(i)
            if checkpoint is not None and n % 1000 == 0:
                _partial(checkpoint, seed, inputs, start_at, n, counts, len(hangs), commit,
                         time.monotonic() - start, pool.clock)
            if result.cls == C.HANG:  # confirmed below: a hang runs past the limit twice
                hangs.append((i, case, result))
                continue
            _count(i, case, result, counts, by_gen, found, slow)
        confirmed: Counter = Counter()
        for i, case, result in hangs:
            if confirmed[result.signature] >= CONFIRM_PER_SIGNATURE:
                _count(i, case, result, counts, by_gen, found, slow)
                continue
            again = pool.run_one(case)
            confirmed[result.signature] += again.cls == C.HANG
            if again.cls != C.HANG:
                slow.append((i, case.gen, round(result.seconds, 2), "over the limit once"))
                result = again
            _count(i, case, result, counts, by_gen, found, slow)
        elapsed = time.monotonic() - start
        groups: dict = defaultdict(list)
        for i, case, result in found:
            groups[(result.cls, result.signature)].append((i, case, result))
        report_groups = []
        if findings is not None:
            for sub in C.CLASSES:
                shutil.rmtree(findings / sub.replace(" ", "_"), ignore_errors=True)
        shrink_until = time.monotonic() + SHRINK_SECONDS
        for (cls, signature), members in sorted(groups.items(), key=_order):
            shown = []
            for j, (i, case, result) in enumerate(members):
                small = None
                if j < SHRINK_PER_SIGNATURE and shrink_budget and \
                        time.monotonic() < shrink_until:
                    budget = shrink_budget if cls != C.HANG else 4
                    small = shrink(case, result, pool.run_one, budget)
                if findings is not None:
                    path = save(findings, seed, i, case, result, small)
                else:
                    path = None
                if j < 2:
                    shown.append({"input": i, "gen": case.gen, "detail": result.detail,
                                  "path": _relative(path),
                                  "repro": _show((small or case).text, 400),
                                  "argv": list(case.argv), "source": bool(case.source)})
            report_groups.append({"class": cls, "signature": signature, "count": len(members),
                                  "examples": shown})
    done = inputs - start_at
    return {"seed": seed, "inputs": inputs, "start": start_at, "jobs": jobs,
            "timeout": timeout, "clock": pool.clock,
            "seconds": round(elapsed, 1), "per_input_ms": round(1000 * elapsed / max(done, 1), 1),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
            "counts": {cls: counts.get(cls, 0) for cls in C.CLASSES},
            "by_generator": {g: _gen_counts(c) for g, c in sorted(by_gen.items())},
            "slow": slow[:50], "findings": report_groups}


def _partial(path: Path, seed, inputs, start_at, done, counts, hangs, commit, seconds,
             clock) -> None:
    """The counts so far (hangs not yet run again alone apart)."""
    data = {"partial": True, "seed": seed, "inputs": inputs, "start": start_at,
            "done": done, "commit": commit, "clock": clock, "seconds": round(seconds, 1),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "counts": {cls: counts.get(cls, 0) for cls in C.CLASSES},
            "hangs to run again alone": hangs}
    path.write_text(json.dumps(data, indent=1))


def _gen_counts(c: Counter) -> dict:
    """A generator's counts per class, and its mean time per input in ms."""
    n = sum(v for k, v in c.items() if k != "_seconds")
    out = {k: v for k, v in c.items() if k != "_seconds"}
    out["mean_ms"] = round(1000 * c["_seconds"] / max(n, 1), 1)
    return out


def print_report(report: dict) -> None:
    span = (f"inputs {report['start']:,} to {report['inputs'] - 1:,}" if report.get("start")
            else f"{report['inputs']:,} inputs")
    print(f"symparam fuzz: seed {report['seed']}, {span}, {report['jobs']} jobs, limit "
          f"{report['timeout']:g} s ({report.get('clock', 'wall')} time), commit "
          f"{report['commit']}, {report['date']}")
    print(f"time: {report['seconds']:,} s ({report['per_input_ms']} ms per input)\n")
    width = max(len(c) for c in C.CLASSES)
    for cls, n in report["counts"].items():
        print(f"  {cls.ljust(width)}  {n:>8,}")
    print("\nby generator:")
    for gen, counts in report["by_generator"].items():
        print(f"  {gen.ljust(18)} " + ", ".join(f"{c} {n:,}" for c, n in sorted(counts.items())
                                                if c != "mean_ms")
              + f"  ({counts['mean_ms']} ms each)")
    if report["slow"]:
        print(f"\ninputs over {SLOW:g} s: " + "; ".join(
            f"#{i} {gen} {s} s ({what})" for i, gen, s, what in report["slow"][:10]))
    current = None
    shown = Counter()
    for group in report["findings"]:
        if group["class"] != current:
            current = group["class"]
            total = report["counts"][current]
            print(f"\n==== {current}: {total:,} inputs, "
                  f"{sum(g['class'] == current for g in report['findings'])} signatures")
        shown[current] += 1
        if shown[current] > SHOWN_PER_CLASS * 3:
            continue
        print(f"-- {group['signature']}  ({group['count']:,} inputs)")
        if shown[current] > SHOWN_PER_CLASS:
            continue
        for ex in group["examples"][:1]:
            print(f"   #{ex['input']} {ex['gen']}: {ex['detail'][:300]}")
            if ex["argv"]:
                print("   argv: " + " ".join(ex["argv"]))
            print("   " + ex["repro"].replace("\n", "\n   "))
            if ex["path"]:
                print(f"   saved: {ex['path']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per input")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="what the limit measures: the input's CPU time (default) or "
                             "its wall time")
    parser.add_argument("--start", type=int, default=0, metavar="I",
                        help="begin at input I of the seed (to finish a stopped run)")
    parser.add_argument("--json", metavar="FILE", nargs="?", const="-",
                        help="also write the report as JSON (to FILE, or - for stdout)")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--findings", metavar="DIR", type=Path, default=FINDINGS,
                        help="where findings are saved (default fuzz/findings)")
    parser.add_argument("--only", type=int, metavar="I", help="run input I of the seed, alone")
    parser.add_argument("--replay", metavar="FILE", help="run a saved finding again")
    args = parser.parse_args(argv)
    # A terminated run still stops its workers and removes its scratch folders.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.only is not None or args.replay:
        if args.replay:
            text = Path(args.replay).read_text(encoding="utf-8", errors="surrogateescape")
            case = case_from_json(text.rstrip("\n").rsplit("\n", 1)[-1])
        else:
            case = make_case(args.seed, args.only)
        print(_describe(case))
        with Pool(1, args.timeout, clock=args.clock) as pool:
            result = pool.run_one(case)
        print(f"\n=> {result.cls} ({result.seconds:.2f} s) {result.signature}\n{result.detail}")
        return 0
    start = time.monotonic()

    def progress(i: int) -> None:
        if i and i % 1000 == 0:
            print(f"... input {i:,} ({time.monotonic() - start:.0f} s)", file=sys.stderr,
                  flush=True)
    checkpoint = Path(args.json) if args.json and args.json != "-" else None
    report = fuzz(args.inputs, args.seed, args.jobs, args.timeout, findings=args.findings,
                  shrink_budget=0 if args.no_shrink else 150, progress=progress,
                  clock=args.clock, start_at=args.start, checkpoint=checkpoint)
    if args.json == "-":
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        print_report(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
