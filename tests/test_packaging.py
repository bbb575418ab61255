"""The package installs as a user installs it: a wheel built from the repository, into a
fresh virtual environment, run from another folder, carries its grammar, templates,
examples and zoo."""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def _see_our_packages(py: Path) -> None:
    """Let the fresh venv import sympy & co. from the environment running the tests (a
    contributor's own venv or the machine's Python): a ``.pth`` file naming our
    site-packages folders. ``system_site_packages`` would see the base Python's
    instead, which lacks them when the tests run in a venv."""
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    theirs = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert theirs.returncode == 0, theirs.stderr
    (Path(theirs.stdout.strip()) / "_symparam_test_deps.pth").write_text("\n".join(ours) + "\n")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv (seeing our packages for sympy & co.) with only the wheel
    installed from the repository."""
    tmp = tmp_path_factory.mktemp("pkg")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
                  str(ROOT)])
    if built.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"building the wheel failed:\n{built.stderr[-2000:]}")
        pytest.skip(f"cannot build the wheel here: {built.stderr.strip()[-300:]}")
    wheel = next((tmp / "dist").glob("symparam-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    _see_our_packages(py)
    done = _run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)])
    assert done.returncode == 0, done.stderr
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return env_dir, elsewhere


def test_wheel_carries_its_resources(installed):
    env_dir, elsewhere = installed
    out = _run([str(env_dir / "bin" / "python"), "-c",
                "import symparam, symparam.resources as r; print(symparam.__file__); "
                "print(*[(r.resource_dir(n) / f).exists() for n, f in "
                "[('grammar', 'symparam.lark'), ('examples', 'seed000.symp'), "
                "('zoo', 'vgg16.symp'), ('templates', 'derive.md.j2')]])"],
               cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    where, found = out.stdout.splitlines()
    assert str(env_dir) in where  # the installed copy, not the repository
    assert found == "True True True True"


def test_installed_command_runs_from_another_folder(installed):
    env_dir, elsewhere = installed
    out = _run([str(env_dir / "bin" / "symparam"), "summary", "--example", "seed000"],
               cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    assert "Total params: 2,140,752" in out.stdout
    assert "Non-trainable params: 1,024" in out.stdout
    zoo = _run([str(env_dir / "bin" / "symparam"), "count", "--zoo", "resnet50", "--json"],
               cwd=elsewhere)
    assert zoo.returncode == 0, zoo.stderr
    assert '"value": 25636712' in zoo.stdout


def test_editable_layout_finds_resources_in_the_repository():
    # `pip install -e .` imports the package from the repository, where the resources
    # sit beside it rather than inside it.
    from symparam import resources

    assert resources.resource_dir("grammar") == ROOT / "grammar"
    assert resources.resource_dir("examples") == ROOT / "docs" / "examples"
