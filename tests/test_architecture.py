"""The import rules of docs/architecture.md, checked by reading every module's imports
(function-level and type-checking ones included): a module that breaks a rule fails
here, naming the import and its line. Also runs the page's Python example."""
from __future__ import annotations

import ast
import doctest
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symparam"
DOC = ROOT / "docs" / "architecture.md"

FOUNDATIONS = ("limits", "chars", "errors", "exprs", "resources", "ast", "parser",
               "values", "costs", "tidy", "formulas", "numbers", "activations", "conventions",
               "plugins")
COMMAND_LINE = ("cli", "__main__", "commands")
FRONT_ENDS = (*COMMAND_LINE, "notebook")  # they print; only the command line uses click
ANALYZER = ("analyze", "sharing", "learned", "checks", "reach")


@dataclass(frozen=True)
class Rule:
    """Modules (``modules``: names of modules or packages under symparam) that may not
    import ``forbidden``, or may import ``only`` these."""

    what: str
    modules: tuple[str, ...]
    forbidden: tuple[str, ...] = ()
    only: tuple[str, ...] = ()


RULES = (
    Rule("foundations import only each other", FOUNDATIONS, only=FOUNDATIONS),
    Rule("layer kinds never import the graph, the analysis, stats, render or the CLI",
         ("layers",), forbidden=("graph", "resolve", *ANALYZER, "stats", "analysis",
                                 "render", "cards", *COMMAND_LINE)),
    Rule("the graph is data: it imports only the syntax tree", ("graph",), only=("ast",)),
    Rule("the resolver holds in every convention and never analyzes or renders",
         ("resolve",), forbidden=(*ANALYZER, "stats", "analysis", "render", "cards",
                                  "conventions", *COMMAND_LINE)),
    Rule("stats never import the analyzer, render, analysis or the CLI",
         ("stats", "reach"), forbidden=("analyze", "sharing", "resolve", "render",
                                        "analysis", "cards", *COMMAND_LINE)),
    Rule("the analyzer never imports render, analysis or the CLI",
         ("analyze", "sharing", "learned", "checks"), forbidden=("render", "analysis", "cards", *COMMAND_LINE)),
    Rule("the comparison never imports render, analysis, cards or the CLI", ("compare",),
         forbidden=("render", "analysis", "cards", *FRONT_ENDS)),
    Rule("nothing but the command line imports it",
         ("render", "analysis", "cards", "__init__", "layers", "graph", "resolve",
          *ANALYZER, "stats", "compare", "highlight", "export", *FOUNDATIONS),
         forbidden=(*COMMAND_LINE, "imports")),
    Rule("the exporters write text from stats: never render, analysis, cards or a front end",
         ("export",), forbidden=("render", "analysis", "cards", "resolve", "notebook",
                                 *COMMAND_LINE)),
    Rule("imports write text from a config: they import only the foundations",
         ("imports",), only=(*FOUNDATIONS, "imports")),
)



def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name under symparam (``layers.base``; a
    package's __init__ by the package's name, the top one as ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(name: str, path: Path) -> list[str]:
    """The package a module's relative imports start from, as parts under symparam."""
    parts = [] if name == "__init__" else name.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def imports(name: str) -> list[tuple[str, int]]:
    """The symparam modules ``name`` imports (as names under symparam), with the line of
    each import. ``from .layers import base`` counts as ``layers.base``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "symparam" or alias.name.startswith("symparam."):
                    out.append((alias.name.partition(".")[2] or "__init__", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name, path)
                base = base[:len(base) - node.level + 1] if node.level > 1 else base
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and (node.module == "symparam"
                                  or node.module.startswith("symparam.")):
                target = node.module.split(".")[1:]
            else:
                continue
            found = False
            for alias in node.names:  # `from . import graph`: the submodule itself
                sub = ".".join(target + [alias.name])
                if sub in MODULES:
                    out.append((sub, node.lineno))
                    found = True
            if not found:
                out.append((".".join(target) or "__init__", node.lineno))
    return out


def _in(name: str, groups) -> bool:
    """Is module ``name`` one of ``groups`` or inside one of those packages?"""
    return any(name == group or name.startswith(group + ".") for group in groups)


def _where(name: str) -> str:
    path = MODULES[name]
    return f"symparam/{path.relative_to(PACKAGE)}" if PACKAGE in path.parents else str(path)


def _rule_cases():
    for rule in RULES:
        for name in MODULES:
            if _in(name, rule.modules):
                yield pytest.param(rule, name, id=f"{name}: {rule.what}")


@pytest.mark.parametrize("rule, name", list(_rule_cases()))
def test_import_rules(rule: Rule, name: str):
    broken = []
    for target, line in imports(name):
        if _in(target, (name,)) or target == "__init__" and name == "__init__":
            continue
        if rule.only and not _in(target, rule.only):
            broken.append(f"line {line}: imports {target} (may import only "
                          f"{', '.join(rule.only)})")
        if rule.forbidden and _in(target, rule.forbidden):
            broken.append(f"line {line}: imports {target}")
    assert not broken, f"{_where(name)} breaks the rule '{rule.what}' " \
                       f"(docs/architecture.md): " + "; ".join(broken)


def test_the_rules_cover_every_module_the_doc_lists():
    """Every module of the package is in docs/architecture.md's table, and every module
    below the command line is under at least one import rule."""
    text = DOC.read_text(encoding="utf-8")
    for name, path in MODULES.items():
        top = name.split(".")[0]
        shown = f"`{top}/`" if (PACKAGE / top).is_dir() else f"`{path.name}`"
        assert shown in text, f"docs/architecture.md does not list {shown}"
        if not _in(name, FRONT_ENDS):
            assert any(_in(name, rule.modules) for rule in RULES), name


def _prints_or_exits(path: Path) -> list[str]:
    """Where a module prints, writes to the terminal, exits or imports click."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        what = ""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("print", "exit", "quit", "input"):
            what = f"{node.func.id}()"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                (node.value.id == "sys" and node.attr in ("exit", "stdout", "stderr"))
                or (node.value.id == "os" and node.attr == "_exit")):
            what = f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.Name) and node.id == "SystemExit":
            what = "SystemExit"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or ""]
            if any(n == "click" or n.startswith("click.") for n in names):
                what = "click"
        if what:
            found.append(f"{what} at line {node.lineno}")
    return found


@pytest.mark.parametrize("name", [n for n in MODULES if not _in(n, FRONT_ENDS)])
def test_only_the_front_ends_print_and_exit(name: str):
    found = _prints_or_exits(MODULES[name])
    assert not found, (f"{_where(name)} prints or exits "
                       f"({', '.join(found)}): only the front ends may (cli.py, commands/, notebook.py)")


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The scanners find what they look for (a rule test that could not fail would
    prove nothing): a relative import two levels up, and a print."""
    monkeypatch.setitem(MODULES, "layers.fake", tmp_path / "fake.py")
    (tmp_path / "fake.py").write_text("from ..render import fmt\nfrom ..stats import x\n"
                                      "def f():\n    print('hi')\n")
    assert ("render.fmt", 1) in imports("layers.fake")
    assert ("stats", 2) in imports("layers.fake")
    assert _prints_or_exits(tmp_path / "fake.py") == ["print() at line 4"]
    rule = next(r for r in RULES if r.modules == ("layers",))
    with pytest.raises(AssertionError, match=r"line 1: imports render.fmt; line 2: imports stats"):
        test_import_rules(rule, "layers.fake")


def test_the_notebook_views_of_stats_still_work():
    """stats.py no longer imports the renderer; the views come through the package."""
    import symparam
    stats = symparam.analyze("model m(n = 4):\n    input [n]\n    dense 2\n")
    assert "Parameters of" in stats._repr_markdown_()
    assert "&= 10" in stats._repr_latex_()
    assert stats._repr_html_().startswith('<div class="symparam">')


def test_the_architecture_page_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(DOC), module_relative=False)
    assert result.attempted > 5 and result.failed == 0
