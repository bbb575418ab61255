"""A derivation compiled to PDF with pdflatex, or made a whole HTML page: the
formats ``derive -o out.pdf`` and ``-o out.html`` write.

pdflatex runs in a temporary folder, twice at most, with no shell escape and a time
limit; a missing pdflatex, an error or a time-out is one clear error (never a silent
Markdown file under another name). The HTML page is the Jupyter view's table and
totals in a page of its own, math in ``\\(...\\)`` for KaTeX's or MathJax's
auto-render, which the page does not load: it works without a network, and shows
the LaTeX source of the math until one is added.

May import: the render modules and :mod:`symparam.errors`.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import SymparamError

PDFLATEX_SECONDS = 120  # one pdflatex run; the zoo's documents take 1-3 s


def compile_pdf(tex: str) -> bytes:
    """The PDF of a standalone LaTeX document, compiled with pdflatex."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise SymparamError("cannot write a PDF: pdflatex is not installed (Debian's "
                            "texlive-latex-base); write the LaTeX with -o FILE.tex and "
                            "compile it yourself")
    with tempfile.TemporaryDirectory(prefix="symparam-") as folder:
        source = Path(folder) / "derivation.tex"
        source.write_text(tex, encoding="utf-8")
        try:
            done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                                   "-no-shell-escape", source.name], cwd=folder,
                                  capture_output=True, timeout=PDFLATEX_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise SymparamError(f"pdflatex ran longer than {PDFLATEX_SECONDS} s "
                                f"(PDFLATEX_SECONDS)") from None
        pdf = source.with_suffix(".pdf")
        if done.returncode != 0 or not pdf.exists():
            log = done.stdout.decode("latin-1", "replace")
            first = re.search(r"^! (.*)$", log, re.M)
            why = first.group(1) if first else f"exit code {done.returncode}"
            raise SymparamError(f"pdflatex could not compile the derivation: {why}")
        return pdf.read_bytes()


def html_page(title: str, fragment: str) -> str:
    """A whole HTML page around a fragment (``render.document.html``)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n"
            "<!-- Math is in \\( \\): add KaTeX's or MathJax's auto-render to typeset it. -->\n"
            "<style>body{font-family:serif;max-width:60em;margin:2em auto}"
            "table{border-collapse:collapse}td,th{padding:0.2em 0.8em;"
            "border-bottom:1px solid #ccc;text-align:left}</style>\n"
            f"</head>\n<body>\n{fragment}</body>\n</html>\n")
