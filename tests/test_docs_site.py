"""The documentation site (mkdocs.yml, docs/site.md): `mkdocs build --strict` succeeds, every
page of docs/ is in it, ```symparam blocks are highlighted by symparam's own Pygments lexer,
and the math is rendered by KaTeX from the site's own files (no CDN).

The site needs MkDocs (``pip install -e ".[docs]"``) and KaTeX (``npm install`` in
tests/katex); the rendering check needs Chromium. ``.ci/run`` installs all three. In CI (the
environment variable CI set) a missing tool FAILS these tests; elsewhere they skip, saying
which tool is missing.
"""
from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
KATEX_DIST = ROOT / "tests" / "katex" / "node_modules" / "katex" / "dist"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SYMPARAM_FENCE = re.compile(r"^```symparam\n(.*?)^```", re.S | re.M)
ASSET_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.I)


def _require(ok: bool, msg: str) -> None:
    if ok:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built with --strict into a temporary folder."""
    missing = [m for m in ("mkdocs", "material", "pymdownx")
               if importlib.util.find_spec(m) is None]
    _require(not missing, f"the site needs {', '.join(missing)}: pip install -e \".[docs]\"")
    _require((KATEX_DIST / "katex.min.js").is_file(),
             f"the site needs KaTeX: run `npm install` in {KATEX_DIST.parents[2]}")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


def _pages(site: Path) -> list[Path]:
    """The pages MkDocs made from docs/*.md (not static HTML such as the playground's)."""
    return [site / p.with_suffix(".html").name for p in sorted(DOCS.glob("*.md"))]


def test_every_docs_page_is_built(site):
    expected = {p.with_suffix(".html").name for p in DOCS.glob("*.md")}
    built = {p.name for p in site.glob("*.html")}
    assert expected and expected <= built, sorted(expected - built)
    # The home page restates the README's opening.
    readme_opening = (ROOT / "README.md").read_text(encoding="utf-8").split("\n\n")[1]
    home = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    assert " ".join(readme_opening.split()) in " ".join(home.split())


def test_every_docs_page_is_in_the_nav(site):
    """The nav (each page's sidebar) links every page, the forgotten ones appended by the
    hook, so no page is reachable only by its address."""
    nav = (site / "index.html").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        target = page.with_suffix(".html").name
        assert re.search(rf'class="md-nav__link[^"]*"[^>]*href="(\./)?{re.escape(target)}"',
                         nav) or re.search(rf'href="(\./)?{re.escape(target)}"[^>]*'
                                           r'class="md-nav__link', nav), target


def test_symparam_blocks_are_highlighted_by_symparams_lexer(site):
    """The first ```symparam block of docs/language.md comes out exactly as Pygments
    highlights it with symparam.highlight.SymparamLexer (found through its entry point)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.token import STANDARD_TYPES

    from symparam.highlight import SymparamLexer

    lexer = get_lexer_by_name("symparam")
    assert isinstance(lexer, SymparamLexer)
    block = SYMPARAM_FENCE.search((DOCS / "language.md").read_text(encoding="utf-8")).group(1)
    page = (site / "language.html").read_text(encoding="utf-8")
    assert highlight(block, lexer, HtmlFormatter(nowrap=True)) in page
    # The keyword `model` and the layer `dense` each have their own token class.
    classes = {text: STANDARD_TYPES[kind] for kind, text in lexer.get_tokens(block)}
    assert classes["model"] != classes["dense"] == "nb"
    assert f'<span class="{classes["model"]}">model</span>' in page
    assert '<span class="nb">dense</span>' in page


def test_math_is_left_for_katex_and_katex_is_in_the_site(site):
    derivations = (site / "derivations.html").read_text(encoding="utf-8")
    assert r'<span class="arithmatex">\(\alpha\)</span>' in derivations
    home = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<div class="arithmatex">\\\[\s*\\text\{Total params\}', home)
    for name in ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js",
                 "katex-init.js", "fonts/KaTeX_Main-Regular.woff2"):
        assert (site / "assets" / "katex" / name).is_file(), name
    for page in _pages(site):
        tags = ASSET_TAG.findall(page.read_text(encoding="utf-8"))
        assert any("assets/katex/katex.min.js" in tag for tag in tags), page.relative_to(site)
        remote = [tag for tag in tags if re.search(r'(src|href)="(https?:)?//', tag)]
        assert not remote, (page.relative_to(site), remote)


def test_the_generated_derivation_page_is_symparams_output(site):
    """derivation-example.html is made at build time from `symparam derive` on seed000."""
    built = (site / "derivation-example.html").read_text(encoding="utf-8")
    # The model's source, highlighted by symparam's lexer ...
    assert '<span class="nb">batchnorm</span>' in built
    # ... then the derivation, its math left for KaTeX, its headings one level down.
    page = html.unescape(built)
    assert ("\\text{Total params} &= h \\left(n + 1\\right) + 4 h + k \\left(h + 1\\right)"
            in page)
    assert "&= 2{,}140{,}752" in page
    assert re.search(r"<h2[^>]*>Parameters of <code>mlp</code>", page)


def test_katex_renders_the_math_in_a_browser(site):
    """Headless Chromium opens the generated derivation from disk: every arithmatex element
    (inline and display) became KaTeX, and none failed."""
    _require(Path(CHROMIUM).is_file(),
             "rendering the site needs Chromium: apt-get install chromium")
    page = site / "derivation-example.html"
    built = page.read_text(encoding="utf-8")
    inline = built.count('<span class="arithmatex">')
    display = built.count('<div class="arithmatex">')
    assert inline > 10 and display >= 4
    result = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert result.returncode == 0 and "</html>" in dom, result.stderr[-2000:]
    assert "katex-error" not in dom
    assert dom.count('class="katex-display"') == display
    assert dom.count('class="katex"') == inline + display
    assert '<annotation encoding="application/x-tex">' in dom


def _hooks():
    _require(importlib.util.find_spec("mkdocs") is not None,
             'the site needs mkdocs: pip install -e ".[docs]"')
    spec = importlib.util.spec_from_file_location("sitebuild_hooks",
                                                  ROOT / "sitebuild" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_nav_links_the_playground_only_once_it_is_built(tmp_path):
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.nav import Link, Navigation

    hooks = _hooks()
    (tmp_path / "playground").mkdir()
    (tmp_path / "playground" / "index.html").write_text("<!doctype html>")
    built = Files([File("playground/index.html", str(tmp_path), str(tmp_path / "out"), False)])
    for files, expected in ((Files([]), []), (built, ["playground/index.html"])):
        nav = hooks.on_nav(Navigation([], []), config=None, files=files)
        assert [item.url for item in nav.items if isinstance(item, Link)] == expected


def test_pages_the_nav_forgot_are_appended(tmp_path):
    from types import SimpleNamespace

    hooks = _hooks()
    for name in ("index.md", "a.md", "b.md"):
        (tmp_path / name).write_text("# x\n")
    config = SimpleNamespace(docs_dir=str(tmp_path), nav=["index.md", {"Section": [{"A": "a.md"}]}])
    assert hooks.on_config(config).nav == ["index.md", {"Section": [{"A": "a.md"}]}, "b.md"]
