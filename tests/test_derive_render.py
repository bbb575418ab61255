"""The derivations compile and render where people put them: every standalone LaTeX
document of the shipped examples and the zoo compiles with pdflatex, without errors
and without overfull boxes; every math fragment of the Markdown (both flavours)
renders with KaTeX.

pdflatex comes from Debian's texlive packages and KaTeX from npm, both installed by
``.ci/run``. In CI (the environment variable CI set) a missing tool FAILS these tests;
elsewhere they skip, saying why.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from symparam import analyze, parse_file
from symparam.render.document import derivation
from symparam.resources import resource_dir

KATEX_DIR = Path(__file__).parent / "katex"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require(ok: bool, msg: str) -> None:
    if ok:
        return
    if _in_ci():
        pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
    pytest.skip(msg)


def shipped_models() -> list[tuple[str, Path, str]]:
    """(id, file, model) for every model of the shipped examples and the zoo."""
    out = []
    for kind in ("examples", "zoo"):
        for path in sorted(resource_dir(kind).glob("*.symp")):
            for name in parse_file(path).models:
                out.append((f"{path.stem}-{name}", path, name))
    return out


MODELS = shipped_models()


def _documents(fmt: str, **options) -> dict[str, str]:
    out = {}
    for ident, path, name in MODELS:
        stats = analyze(parse_file(path), model=name)
        out[ident] = derivation(stats, fmt, **options)
        if fmt == "latex" and ident.startswith("seed000"):  # PyTorch's buffers too
            torch = analyze(parse_file(path), model=name, convention="torch")
            out[ident + "-torch"] = derivation(torch, fmt, **options)
    return out


def _pdflatex(folder: Path, name: str) -> tuple[str, int, str]:
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           f"{name}.tex"], cwd=folder, capture_output=True, text=True,
                          timeout=300)
    log = (folder / f"{name}.log").read_text(encoding="latin-1") if \
        (folder / f"{name}.log").exists() else done.stdout
    return name, done.returncode, log


def test_every_standalone_document_compiles_without_overfull_boxes(tmp_path):
    _require(shutil.which("pdflatex") is not None,
             "pdflatex is not installed (apt-get install texlive-latex-base "
             "texlive-latex-recommended lmodern)")
    docs = _documents("latex", standalone=True)
    assert len(docs) >= 15
    for name, tex in docs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.tex").write_text(tex, encoding="utf-8")
    # The snippet, \input into a paper that loads amsmath and nothing else.
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "derivation.tex").write_text(
        derivation(analyze(parse_file(MODELS[0][1]), model=MODELS[0][2]), "latex"))
    (paper / "paper.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n"
                                     "\\begin{document}\n\\section{Parameters}\n"
                                     "\\input{derivation}\n\\end{document}\n")
    docs["paper"] = ""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda n: _pdflatex(tmp_path / n, n), docs))
    problems = []
    for name, code, log in results:
        if code != 0:
            errors = [line for line in log.splitlines() if line.startswith("!")]
            problems.append(f"{name}: pdflatex exit {code}: {errors[:3]}")
        boxes = re.findall(r"^(Overfull \\[hv]box .*)$", log, re.M)
        if boxes:
            problems.append(f"{name}: {len(boxes)} overfull boxes, e.g. {boxes[0]}")
        if code == 0:
            assert (tmp_path / name / f"{name}.pdf").stat().st_size > 1000
    assert not problems, "\n".join(problems)


# ---- KaTeX ------------------------------------------------------------------------

_FENCE = re.compile(r"^```math\n(.*?)\n```$", re.S | re.M)
_GITHUB_INLINE = re.compile(r"\$`(.+?)`\$")
_DISPLAY = re.compile(r"^\$\$\n(.*?)\n\$\$$", re.S | re.M)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")


def math_fragments(markdown: str, flavor: str) -> list[tuple[str, bool]]:
    """The math of a Markdown document: (LaTeX, display?) pairs, as GitHub (``$`...`$``,
    ```` ```math ````) or plain renderers (``$...$``, ``$$...$$``) find them."""
    if flavor == "github":
        display, inline = _FENCE, _GITHUB_INLINE
    else:
        display, inline = _DISPLAY, _INLINE
    out = [(m, True) for m in display.findall(markdown)]
    rest = display.sub("", markdown)
    if flavor == "plain":  # code spans hold names, never math
        rest = re.sub(r"`[^`\n]*`", "", rest)
    out += [(m, False) for m in inline.findall(rest)]
    return out


def test_math_fragments_are_found():
    md = "a $`x`$ and\n```math\ny = 1\n```\nnot `$a$`"
    assert math_fragments(md, "github") == [("y = 1", True), ("x", False)]
    plain = "a $x$, \\$5 and \\$6, `$a$`\n$$\ny\n$$\n"
    assert math_fragments(plain, "plain") == [("y", True), ("x", False)]


def _katex_ready() -> bool:
    return shutil.which("node") is not None and (KATEX_DIR / "node_modules" / "katex").is_dir()


@pytest.mark.parametrize("flavor", ["github", "plain"])
def test_every_markdown_math_fragment_renders_with_katex(flavor):
    _require(_katex_ready(), f"KaTeX is not installed: run `npm install` in {KATEX_DIR} "
                             f"(.ci/run does)")
    items = []
    for name, md in _documents("markdown", flavor=flavor).items():
        for tex, display in math_fragments(md, flavor):
            items.append({"tex": tex, "display": display, "where": name})
    assert len(items) > 500  # every model has many formulas
    done = subprocess.run(["node", str(KATEX_DIR / "check.js")], input=json.dumps(items),
                          capture_output=True, text=True, timeout=300, cwd=KATEX_DIR)
    assert done.returncode == 0, done.stderr
    failures = json.loads(done.stdout)
    assert failures == [], "\n".join(f"{f['where']}: {f['error']}\n  {f['tex'][:200]}"
                                     for f in failures[:10])


def test_katex_rejects_what_it_cannot_render():
    """The check itself can fail: KaTeX refuses an unknown command."""
    _require(_katex_ready(), f"KaTeX is not installed: run `npm install` in {KATEX_DIR}")
    items = [{"tex": r"\notacommand{x}", "display": False, "where": "bad"},
             {"tex": r"\left\lfloor \frac{H - 3}{2} \right\rfloor", "display": False,
              "where": "good"}]
    done = subprocess.run(["node", str(KATEX_DIR / "check.js")], input=json.dumps(items),
                          capture_output=True, text=True, timeout=60, cwd=KATEX_DIR)
    assert [f["where"] for f in json.loads(done.stdout)] == ["bad"]
