"""The linter (ruff) and the type checker (mypy) run over the code as tests, so CI's one
test command runs them (configured in pyproject.toml; why these two: docs/architecture.md,
"Checks"). A contributor without them gets a skip naming the install; CI fails instead."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("CI", "") == "true"


def _tool(module: str) -> list[str]:
    """The command running ``module`` (python -m), or a skip/fail when it is missing."""
    probe = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True)
    if probe.returncode != 0:
        message = f"{module} is not installed (pip install -e '.[test]')"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return [sys.executable, "-m", module]


def test_ruff_finds_nothing():
    cmd = _tool("ruff") + ["check", "--no-cache", "symparam", "tests", "fuzz", "benchmarks"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_bans_sympy_string_parsing_in_the_package(tmp_path):
    """The security rule as a lint: a module calling sympy.sympify fails the check."""
    bad = tmp_path / "probe.py"
    bad.write_text("import sympy\n\n\ndef f(text):\n    return sympy.sympify(text)\n")
    cmd = _tool("ruff") + ["check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                           str(bad)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "TID251" in result.stdout, result.stdout


def test_mypy_finds_nothing():
    """The type checker over the whole package (pyproject's [tool.mypy]; the modules it
    still leaves out are listed there and in docs/architecture.md, "Checks")."""
    cmd = _tool("mypy") + ["--no-incremental", "--config-file", str(ROOT / "pyproject.toml")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_modules_mypy_leaves_out_are_the_documented_ones():
    """The list of modules still unchecked only shrinks: it is the same in pyproject.toml
    and docs/architecture.md, so adding one is a visible change to both."""
    import re
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads TOML")

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    skipped = sorted(m for o in config["tool"]["mypy"].get("overrides", [])
                     if o.get("ignore_errors") for m in o["module"])
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paragraph = doc.split("Modules mypy still leaves out", 1)[1].split("\n\n", 1)[0]
    listed = sorted(re.findall(r"`(symparam\.[a-z_.]+)`", paragraph))
    assert skipped == listed
