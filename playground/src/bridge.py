"""Runs inside the playground's Pyodide (playground/src/worker.js): model text in, the
summary and the Markdown derivation out, as a plain dict the page can read.

Only symparam's public pieces are used (the parser, analyze, the renderers); every
SymparamError becomes its own one-line message with the caret under the line, and anything
else a one-line internal error: the page never shows a Python traceback.
"""
from __future__ import annotations

from symparam import analyze
from symparam.errors import SymparamError
from symparam.parser import parse
from symparam.render import derivation, summary_text


def run(text: str, convention: str, model: str = "") -> dict:
    """Analyze ``text`` under ``convention``; ``model`` picks one of several models."""
    models: list[str] = []
    try:
        doc = parse(text)
        models = list(doc.models)
        chosen = model if model in models else (models[0] if models else None)
        stats = analyze(doc, model=chosen, convention=convention)
        return {"ok": True, "models": models, "model": stats.name,
                "summary": summary_text(stats),
                "markdown": derivation(stats, "markdown", flavor="plain")}
    except SymparamError as err:
        return {"ok": False, "models": models, "error": str(err)}
    except Exception as err:  # noqa: BLE001 - a bug must still show as one line
        first = (str(err).splitlines() or [""])[0]
        return {"ok": False, "models": models,
                "error": f"internal error ({type(err).__name__}): {first}"}
