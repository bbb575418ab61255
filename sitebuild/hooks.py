"""MkDocs hooks for the documentation site (``mkdocs.yml`` names this file under ``hooks:``).

What it does, at build time only (nothing here is imported by ``symparam``):

- puts KaTeX (installed from npm into ``tests/katex/node_modules`` by ``.ci/run``) into the
  site under ``assets/katex/``, with ``katex-init.js`` beside it, so math renders offline:
  the site never loads anything from a CDN;
- generates the page ``derivation-example.md``: ``symparam derive`` on the README's model
  (docs/examples/seed000.symp), plain-flavour Markdown, so the site shows a real derivation
  as KaTeX renders it, always the current output;
- appends to the nav any top-level ``docs/*.md`` page the nav in ``mkdocs.yml`` forgot (other
  pages are being written in parallel; a page must never be unreachable);
- links the browser playground (``docs/playground/index.html``, built by its own script) from
  the nav when, and only when, it has been built.

May import: mkdocs, symparam, the standard library.
"""
from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Link, Navigation

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KATEX_DIST = ROOT / "tests" / "katex" / "node_modules" / "katex" / "dist"
KATEX_URI = "assets/katex"
# The files of KaTeX's dist the pages use (the fonts are read by katex.min.css).
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")
PLAYGROUND = "playground/index.html"
EXAMPLE = "seed000"
DERIVATION_PAGE = "derivation-example.md"


def _nav_paths(item: object) -> set[str]:
    """Every page path named in a nav from mkdocs.yml (strings, lists and one-key dicts)."""
    if isinstance(item, str):
        return {item}
    if isinstance(item, dict):
        item = list(item.values())
    if isinstance(item, list):
        return set().union(*(_nav_paths(child) for child in item))
    return set()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    docs = Path(config.docs_dir)
    named = _nav_paths(config.nav or [])
    missing = sorted(p.name for p in docs.glob("*.md") if p.name not in named)
    if config.nav is not None and missing:
        config.nav = [*config.nav, *missing]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    if not (KATEX_DIST / "katex.min.js").is_file():
        raise PluginError(
            f"KaTeX is not installed ({KATEX_DIST} is missing): run "
            "`npm install` in tests/katex (as .ci/run does) before building the site")
    wanted = [*KATEX_FILES, *(f"fonts/{font.name}" for font in (KATEX_DIST / "fonts").iterdir())]
    for name in wanted:
        files.append(File.generated(config, f"{KATEX_URI}/{name}",
                                    abs_src_path=str(KATEX_DIST / name)))
    files.append(File.generated(config, f"{KATEX_URI}/katex-init.js",
                                abs_src_path=str(HERE / "katex-init.js")))
    files.append(File.generated(config, DERIVATION_PAGE,
                                content=derivation_page(Path(config.docs_dir))))
    return files


def derivation_page(docs: Path) -> str:
    """The Markdown of the generated page: the example's source, then its derivation with
    every heading one level down (the page has its own title)."""
    import symparam
    from symparam.render import derivation

    source = (docs / "examples" / f"{EXAMPLE}.symp").read_text(encoding="utf-8")
    document = derivation(symparam.analyze(source), "markdown", flavor="plain")
    demoted = "\n".join("#" + line if line.startswith("#") else line
                        for line in document.splitlines())
    return (
        "# A derivation, rendered\n\n"
        "This page is generated each time the site is built: it is the output of\n"
        f"`symparam derive --example {EXAMPLE} --format markdown --flavor plain` (see\n"
        "[Derivations](derivations.md)), its math rendered by KaTeX. The model:\n\n"
        f"```symparam\n{source.rstrip()}\n```\n\n{demoted}\n")


def on_nav(nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
    if files.get_file_from_path(PLAYGROUND) is not None:
        nav.items.append(Link("Playground (live)", PLAYGROUND))
    return nav
