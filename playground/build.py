"""Assemble the browser playground: a static folder (docs/playground/ by default) that
runs symparam client-side with Pyodide and needs nothing outside itself at run time.

    python3 playground/build.py [--out DIR]

What goes in (see docs/playground.md):

- the page's own files from playground/src/ (HTML, CSS, JS, the Python bridge), with
  docs/examples/seed000.symp preloaded in the editor;
- the Pyodide runtime and KaTeX from npm (playground/package.json, installed here with
  ``npm install`` when missing);
- wheels/: the pure-Python wheels symparam needs, from PyPI at pinned versions (sympy,
  mpmath, lark, jinja2; MarkupSafe has only compiled wheels there, so its pure-Python
  fallback is repacked from its sdist), and symparam itself built from this checkout
  (grammar and templates inside, see pyproject's force-include); wheels.json lists them.

This script may import only the standard library: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = ROOT / "docs" / "playground"
CACHE = HERE / ".cache"
EXAMPLE = ROOT / "docs" / "examples" / "seed000.symp"

# Pure-Python wheels from PyPI, loaded into Pyodide as they are (Pyodide 314 is Python 3.14).
WHEELS = ["sympy==1.14.0", "mpmath==1.3.0", "lark==1.3.1", "jinja2==3.1.6"]
MARKUPSAFE = ("markupsafe", "3.0.3")
# What the page loads from the npm packages (the rest of them is not needed).
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json", "package.json"]
KATEX_FILES = ["katex.min.js", "katex.min.css", "fonts"]
SOURCES = ["index.html", "playground.css", "playground.js", "markdown.js", "worker.js",
           "bridge.py"]


def run(cmd: list[str], cwd: Path = ROOT) -> None:
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cwd, check=True)


def pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]


def npm_packages() -> Path:
    """playground/node_modules, installed from package.json when missing."""
    modules = HERE / "node_modules"
    if not (modules / "pyodide" / "pyodide.js").exists() or not (modules / "katex").exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("build.py: npm is needed to fetch Pyodide and KaTeX (install nodejs and npm)")
        run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE)
    return modules


def pypi_wheels() -> list[Path]:
    """The pinned pure-Python wheels, downloaded once into playground/.cache/."""
    folder = CACHE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [spec.split("==") for spec in WHEELS]
    found = [next(folder.glob(f"{name}-{version}-py3-none-any.whl"), None)
             for name, version in wanted]
    if None in found:
        run(pip("download", "--no-deps", "--only-binary", ":all:", "--dest", str(folder),
                *WHEELS))
        found = [next(folder.glob(f"{name}-{version}-py3-none-any.whl")) for name, version in wanted]
    return found


def write_wheel(path: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """A minimal pure-Python wheel holding ``files`` (archive name -> bytes)."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: symparam playground/build.py\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for arcname, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for arcname in sorted(files):
            wheel.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)),
                           files[arcname], zipfile.ZIP_DEFLATED)


def markupsafe_wheel() -> Path:
    """MarkupSafe's pure-Python fallback (it imports _native when _speedups is absent),
    repacked from the sdist as a py3-none-any wheel."""
    name, version = MARKUPSAFE
    wheel = CACHE / f"{name}-{version}-py3-none-any.whl"
    if wheel.exists():
        return wheel
    folder = CACHE / "sdist"
    folder.mkdir(parents=True, exist_ok=True)
    sdist = folder / f"{name}-{version}.tar.gz"
    if not sdist.exists():
        run(pip("download", "--no-deps", "--no-binary", ":all:", "--dest", str(folder),
                f"{name}=={version}"))
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts  # markupsafe-3.0.3/src/markupsafe/x.py
            if member.isfile() and parts[1:3] == ("src", name) and \
                    not parts[-1].startswith("_speedups"):
                files[f"{name}/{parts[-1]}"] = tar.extractfile(member).read()
            elif member.isfile() and parts[1:] == ("LICENSE.txt",):
                files[f"{name}-{version}.dist-info/LICENSE.txt"] = tar.extractfile(member).read()
    if f"{name}/_native.py" not in files:
        sys.exit(f"build.py: {sdist.name} has no pure-Python fallback (src/{name}/_native.py)")
    write_wheel(wheel, name, version, files)
    return wheel


def symparam_wheel(folder: Path) -> Path:
    """symparam built from this checkout (grammar/ and templates/ inside)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("symparam-*.whl"):
        old.unlink()
    run(pip("wheel", "--no-deps", "--wheel-dir", str(folder), str(ROOT)))
    return next(folder.glob("symparam-*.whl"))


def build(out: Path) -> Path:
    modules = npm_packages()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model = html.escape(EXAMPLE.read_text(encoding="utf-8"), quote=False)
    for name in SOURCES:
        text = (HERE / "src" / name).read_text(encoding="utf-8")
        (out / name).write_text(text.replace("{{MODEL}}", model) if name == "index.html" else text,
                                encoding="utf-8")
    for into, package, names in (("pyodide", "pyodide", PYODIDE_FILES),
                                 ("katex", "katex/dist", KATEX_FILES)):
        (out / into).mkdir()
        for name in names:
            src = modules / package / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, out / into / name)
    wheels = out / "wheels"
    wheels.mkdir()
    built = [*pypi_wheels(), markupsafe_wheel(), symparam_wheel(CACHE / "dist")]
    for wheel in built:
        shutil.copy2(wheel, wheels / wheel.name)
    (out / "wheels.json").write_text(json.dumps([w.name for w in built], indent=1) + "\n",
                                     encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the folder to write (default: docs/playground/; replaced)")
    out = build(parser.parse_args(argv).out.resolve())
    print(f"playground built in {out}: serve it with "
          f"python3 -m http.server --directory {out}")


if __name__ == "__main__":
    main()
