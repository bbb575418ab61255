"""Running one input through symparam, in a worker process, and deciding its class.

:func:`execute` is the harness: it calls a *target* (by default :func:`run`, which
uses symparam's public API; the smoke test plants fake ones), classifies what came
out (:mod:`fuzz.classify`) and looks for canaries a hostile input would leave: the
file ``FUZZ_CANARY_WRITTEN`` in the worker's folder, the product ``123456789 *
987654321`` printed on the worker's own stdout or stderr (its file descriptors go to a
file), the secret of ``SYMPARAM_FUZZ_SECRET`` (set only in the workers' environment)
in any output, or a canary module (``this``...) imported.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import classify as C
from .cases import CLI, FORMULA, SOURCE, TEMPLATE, Case
from .gen_templates import CANARY_FILE, CANARY_MODULES, CANARY_PRINT, SECRET_ENV

OUTPUT_FILE = "worker.out"


@dataclass(frozen=True)
class Result:
    cls: str
    detail: str = ""
    signature: str = ""
    seconds: float = 0.0


class CliError(Exception):
    """The command line exited 2 with this text; ``line``/``column`` as it names them."""

    def __init__(self, text: str):
        super().__init__(text)
        m = re.search(r"\bline (\d+)(?:, column (\d+))?", text.split("\n", 1)[0])
        self.line = int(m.group(1)) if m else None
        self.column = int(m.group(2)) if m and m.group(2) else None


# ---- the real target: symparam's public API ----------------------------------------

_STATS: dict = {}


def _render_all(stats, case: Case) -> list[str]:
    from symparam.render import count_text, derivation, model_dict, summary_text
    out = [count_text(stats), json.dumps(model_dict(stats)), str(stats.value(stats.total))]
    if case.render:
        out.append(summary_text(stats))
        fmt = ("markdown", "latex", "text")[len(case.text) % 3]
        out.append(derivation(stats, fmt))
        out.append(str(stats.macs))
    return out


def _run_source(case: Case) -> list[str]:
    import symparam
    values = dict(case.values) or None
    try:
        stats = [symparam.analyze(case.text, convention=case.convention, values=values)]
    except symparam.UsageError as err:
        if "choose one with --model" not in str(err):
            raise
        doc = symparam.parse(case.text)
        stats = [symparam.analyze(doc, model=name, convention=case.convention, values=values)
                 for name in list(doc.models)[:3]]
    out: list[str] = []
    for s in stats:
        out += _render_all(s, case)
        if case.render and s.symbols:  # and once more with every symbol given a value
            given = {sym.name: 1 + len(case.text) % 7 for sym in s.symbols}
            again = symparam.analyze(s.document, model=s.name, convention=case.convention,
                                     values=given)
            out.append(str(again.value(again.total)))
    return out


def _run_template(case: Case) -> list[str]:
    import symparam
    from symparam.render.document import render_template
    if case.source not in _STATS:
        _STATS[case.source] = symparam.analyze(case.source)
    path = Path(case.name)
    path.write_text(case.text, encoding="utf-8", errors="surrogateescape")
    try:
        return [render_template(_STATS[case.source], path)]
    finally:
        path.unlink()


def _run_cli(case: Case) -> list[str]:
    from click.testing import CliRunner
    from symparam.cli import main
    argv = []
    for a in case.argv:
        if a == "{file}":
            Path("model.symp").write_text(case.source, encoding="utf-8")
            a = "model.symp"
        elif a == "{textfile}":
            Path("input.symp").write_bytes(case.text.encode("utf-8", "surrogateescape"))
            a = "input.symp"
        argv.append(a.replace("{text}", case.text) if "{text}" in a else a)
    result = CliRunner().invoke(main, argv, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2])
    if result.exit_code == 0:
        return [result.output]
    if result.exit_code == 2:
        raise CliError(result.output)
    raise RuntimeError(f"exit code {result.exit_code}: {result.output[:500]}")


def _run_formula(case: Case) -> list[str]:
    from symparam.render import read_formula
    return [str(read_formula(case.text, {"n": 4, "h": None}))]


RUNNERS = {SOURCE: _run_source, TEMPLATE: _run_template, CLI: _run_cli, FORMULA: _run_formula}


def warm_up() -> None:
    """Import and exercise every path once, so that forked workers start warm (the
    parser built, sympy's caches and Jinja's environments filled)."""
    import tempfile

    from symparam.errors import SymparamError
    from symparam.render.document import render_template
    from .gen_templates import ORDINARY, SOURCES
    from .gen_cli import MODEL
    with tempfile.TemporaryDirectory() as folder:
        for source in SOURCES:
            stats = _render_all(_STATS.setdefault(source, __import__("symparam").analyze(source)),
                                Case("warm", SOURCE, source, render=True))
            path = Path(folder) / "t.md.j2"
            path.write_text("\n".join(ORDINARY))
            try:
                render_template(_STATS[source], path)
            except SymparamError:  # a symbolic model has no numbers to print
                pass
        from click.testing import CliRunner
        from symparam.cli import main
        Path(folder, "m.symp").write_text(MODEL)
        CliRunner().invoke(main, ["solve", str(Path(folder, "m.symp")), "--for", "d",
                                  "--target", "params=1e9", "--where", "d % 2 == 0"])
        CliRunner().invoke(main, ["sweep", str(Path(folder, "m.symp")), "--grid", "d=1..3"])
        del stats


def run(case: Case) -> list[str]:
    """The default target: the input through symparam's public API; returns outputs."""
    return RUNNERS[case.kind](case)


# ---- the harness ---------------------------------------------------------------------

def _frame(path: str) -> str:
    p = Path(path)
    for top in ("symparam", "lark", "sympy", "jinja2", "click", "fuzz", "tests"):
        if top in p.parts:
            return "/".join(p.parts[p.parts.index(top):])
    return p.name


def exception_signature(exc: BaseException) -> str:
    """The exception's type, and where it was raised: the innermost frame in
    symparam and the innermost frame of all."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "symparam" in Path(f.filename).parts]
    where = [f"{_frame(f.filename)}:{f.name}" for f in (ours[-1:] + frames[-1:])]
    return " ".join([type(exc).__name__] + list(dict.fromkeys(where)))


def _texts(case: Case) -> tuple[str, ...]:
    return (case.text, case.source, " ".join(case.argv))


def _line_text(case: Case) -> str | None:
    """The text an error's line numbers refer to."""
    if case.kind == SOURCE or (case.kind == CLI and "{textfile}" in case.argv):
        return case.text
    if case.kind == TEMPLATE:
        return case.text
    if case.kind == CLI and "{file}" in case.argv:
        return case.source
    return None


def _classify_error(exc: BaseException, case: Case) -> tuple[str, str, str]:
    from symparam.errors import SymparamError
    message = str(exc)
    head = message.split("\n", 1)[0][:300]
    if not isinstance(exc, (SymparamError, CliError)):
        return C.TRACEBACK, f"{type(exc).__name__}: {message[:300]}", exception_signature(exc)
    if isinstance(exc, CliError) and "Traceback" in message:
        return C.TRACEBACK, head, "CliError traceback"
    bad = C.internal_text(message, _texts(case))
    if bad is not None:
        return C.TRACEBACK, f"internal text {bad!r} in: {head}", f"internal {bad[:30]}"
    text = _line_text(case)
    if text is None:
        return C.CLEAR, head, ""
    if case.kind == TEMPLATE:
        problem = C.message_line_problem(message, text)
    else:
        source = getattr(exc, "source", None)
        shown = message if source in (text, text + "\n") else None
        problem = C.line_problem(getattr(exc, "line", None), getattr(exc, "column", None),
                                 text, shown, case.expect_line)
    if problem is not None:
        rule, why = problem
        return C.WRONG_LINE, f"{why}: {head}", f"{case.kind}: {rule}"
    return C.CLEAR, head, ""


def _captured() -> str:
    """What the worker wrote to its stdout and stderr since the last call."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        with open(OUTPUT_FILE, "r+", encoding="utf-8", errors="replace") as f:
            data = f.read()
            f.truncate(0)
        return data
    except OSError:
        return ""


def _canaries(outputs: list[str], captured: str) -> str | None:
    """A side effect a hostile input achieved, or None (and the canaries are reset)."""
    found = None
    if os.path.exists(CANARY_FILE):
        os.unlink(CANARY_FILE)
        found = f"wrote the canary file {CANARY_FILE}"
    secret = os.environ.get(SECRET_ENV, "")
    everything = "\n".join(outputs) + "\n" + captured
    if secret and secret in everything:
        found = found or f"read the environment variable {SECRET_ENV}"
    # The product itself is no evidence (sympy computes it from the text without the
    # print, legitimately): only its printing to the worker's own streams is.
    if CANARY_PRINT in captured:
        found = found or "ran print(123456789*987654321)"
    for name in CANARY_MODULES:
        if name in sys.modules:
            del sys.modules[name]
            found = found or f"imported the module {name}"
    return found


def execute(case: Case, target=run) -> Result:
    """Run ``case`` through ``target`` and classify the outcome."""
    _captured()
    start = time.perf_counter()
    outputs: list[str] = []
    try:
        outputs = [str(o) for o in target(case)]
        cls, detail, signature = C.OK, "", ""
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: B902 - everything a user could trigger counts
        cls, detail, signature = _classify_error(exc, case)
        outputs = [str(exc)]
    seconds = time.perf_counter() - start
    escaped = _canaries(outputs, _captured())
    if escaped:
        return Result(C.ESCAPE, escaped, f"escape: {escaped} ({case.gen})", seconds)
    if cls in (C.OK, C.CLEAR):
        leak = C.leaked_repr("\n".join(outputs), _texts(case))
        if leak is not None:
            if case.kind != SOURCE:  # reached through a template, a formula, a condition
                return Result(C.ESCAPE, f"object repr in the output: {leak!r}",
                              f"escape: repr {C.LEAK.search(leak).group()[:20]}", seconds)
            return Result(C.TRACEBACK, f"object repr in the output: {leak!r}",
                          f"repr in output {C.LEAK.search(leak).group()[:20]}", seconds)
    return Result(cls, detail, signature, seconds)
