"""``count``, ``summary``, ``derive`` and ``examples``: read a model, analyze it,
print what :mod:`symparam.render` makes of it. Nothing here computes or formats."""
from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Optional

import click

from .. import conventions
from ..analyze import analyze
from ..cli import main
from ..errors import SymparamError, UsageError
from ..layers.base import closest
from ..numbers import parse_sets
from ..parser import parse, parse_file
from ..render import count_text, derivation, model_dict, summary_text
from ..render.data import SCHEMA_VERSION
from ..render.formats import FLAVORS, FORMATS
from ..resources import resource_dir
from ..stats import ModelStats

_SUFFIXES = {".tex": "latex", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


# ---- where the model comes from ----------------------------------------------------

def shipped(kind: str) -> dict[str, Path]:
    """The shipped files of ``kind`` ('examples' or 'zoo'), by name (file stem)."""
    try:
        folder = resource_dir(kind)
    except FileNotFoundError:
        return {}
    return {p.stem: p for p in sorted(folder.rglob("*.symp"))}


def _find_shipped(kind: str, name: str) -> Path:
    files = shipped(kind)
    if name in files:
        return files[name]
    for path in files.values():  # a model's name works too: --example mlp
        try:
            if name in parse_file(path).models:
                return path
        except SymparamError:
            continue
    option = "--example" if kind == "examples" else "--zoo"
    if not files:
        raise UsageError(f"no {option} '{name}': nothing is shipped in the {kind} yet")
    close = closest(name, list(files))
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UsageError(f"no {option} '{name}'{hint}; see `symparam examples` for the list: "
                     f"{', '.join(files)}")


class ConventionChoice(click.Choice):
    """The registered conventions, read again when a command runs, so that one
    registered after this module was imported is a valid --convention."""

    def __init__(self) -> None:
        super().__init__(conventions.names())

    def convert(self, value, param, ctx):
        self.choices = conventions.names()
        return super().convert(value, param, ctx)


def load(file: Optional[Path], example: Optional[str], zoo: Optional[str],
         model: Optional[str], sets, symbolic: bool, convention: Optional[str]) -> ModelStats:
    """Read and analyze the model the options name."""
    given = [x for x in (file, example, zoo) if x is not None]
    if len(given) != 1:
        raise UsageError("name one model source: a FILE, --example NAME or --zoo NAME"
                         + (" (not several)" if given else ""))
    if example is not None:
        file = _find_shipped("examples", example)
    elif zoo is not None:
        file = _find_shipped("zoo", zoo)
    if str(file) == "-":
        raw = sys.stdin.buffer.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SymparamError(f"standard input is not UTF-8 text (byte {err.start + 1}: "
                                f"{raw[err.start:err.start + 1]!r})") from None
        doc = parse(text, filename="<stdin>")
    else:
        assert file is not None  # one source is given: checked above
        doc = parse_file(file)
    if model is None and (example or zoo) and (example or zoo) in doc.models:
        model = example or zoo
    return analyze(doc, model=model, convention=convention, values=parse_sets(sets),
                   symbolic=symbolic)


def model_options(command):
    """The options every command that reads a model shares."""
    @click.argument("file", required=False,
                    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
    @click.option("--example", metavar="NAME",
                  help="A shipped example instead of FILE (see `symparam examples`).")
    @click.option("--zoo", metavar="NAME", help="A model of the shipped zoo instead of FILE.")
    @click.option("--model", "-m", "model", metavar="NAME",
                  help="Which model of the file (needed when it has several).")
    @click.option("--set", "-s", "sets", multiple=True, metavar="SYMBOL=VALUE",
                  help="Give a symbol a value (repeatable; or n=1,h=2).")
    @click.option("--symbolic", is_flag=True,
                  help="Ignore the defaults: symbols without --set stay symbolic.")
    @click.option("--convention", type=ConventionChoice(),
                  help="Count as Keras or PyTorch do (default: the file's, else keras).")
    @functools.wraps(command)
    def wrapper(file, example, zoo, model, sets, symbolic, convention, **rest):
        stats = load(file, example, zoo, model, sets, symbolic, convention)
        return command(stats, **rest)
    return wrapper


def json_option(command):
    """``--json``: every command prints one JSON document with it (docs/cli.md)."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON document instead (see docs/cli.md).")(command)


def echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# ---- commands ------------------------------------------------------------------------

@main.command()
@model_options
@json_option
def count(stats: ModelStats, as_json: bool) -> None:
    """Total, trainable and non-trainable parameters, and buffers: formulas and numbers.

    \b
    Examples:
      symparam count model.symp
      symparam count model.symp --set n=1024 --set h=256
      symparam count --example seed000 --symbolic
    """
    if as_json:
        return echo_json(model_dict(stats, "count"))
    click.echo(count_text(stats))


@main.command()
@model_options
@click.option("--columns", "columns", default="", metavar="NAMES",
              help="More columns, comma-separated: macs, flops (per example), memory "
                   "(parameter bytes), activations (output bytes per example).")
@click.option("--dtype", default="fp32", show_default=True,
              help="Bytes per value for the memory and activations columns.")
@json_option
def summary(stats: ModelStats, columns: str, dtype: str, as_json: bool) -> None:
    """A per-layer table like Keras's model.summary(), with formulas.

    \b
    Examples:
      symparam summary --example seed001
      symparam summary model.symp --convention torch
      symparam summary --zoo resnet50 --columns macs,memory,activations --dtype bf16
    """
    from ..analysis.metrics import layer_columns

    extra = layer_columns(columns, dtype)  # a bad name or dtype fails before any work
    if as_json:
        return echo_json(model_dict(stats, "summary"))
    click.echo(summary_text(stats, extra))


@main.command()
@model_options
@click.option("--format", "-f", "fmt", type=click.Choice(list(FORMATS)),
              help="Output format (default: from OUT's suffix, else markdown).")
@click.option("--flavor", type=click.Choice(list(FLAVORS)),
              help="Markdown math: github ($`...`$, ```math; the default) or plain "
                   "($...$, $$...$$).")
@click.option("--standalone", is_flag=True,
              help="LaTeX: a whole document for pdflatex, not a snippet to \\input.")
@click.option("--template", "-t", type=click.Path(dir_okay=False, path_type=Path),
              help="Render your own Jinja template instead (see docs/derivations.md).")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to OUT instead of the terminal.")
def derive(stats: ModelStats, fmt: Optional[str], flavor: Optional[str], standalone: bool,
           template: Optional[Path], out: Optional[Path]) -> None:
    """A derivation document: per layer its weights, shapes and count (formula =
    numbers = result), how its output shape follows, where PyTorch and Keras differ;
    then the totals.

    \b
    Examples:
      symparam derive --example seed000 --format markdown
      symparam derive --example seed000 -f markdown --flavor plain
      symparam derive model.symp --standalone -o model.tex
      symparam derive model.symp --template report.md.j2
    """
    if template is not None:
        if fmt is not None or standalone or flavor is not None:
            raise UsageError("--template renders your template: leave out --format, "
                             "--flavor and --standalone")
        from ..render.document import render_template  # Jinja2 only when rendering

        text, what = render_template(stats, template), f"template {template}"
    else:
        if fmt is None:
            fmt = _SUFFIXES.get(out.suffix.lower(), "markdown") if out else "markdown"
        if standalone and fmt != "latex":
            raise UsageError(f"--standalone makes a LaTeX document; the format here is {fmt}")
        if flavor is not None and fmt != "markdown":
            raise UsageError(f"--flavor is Markdown's; the format here is {fmt}")
        text = derivation(stats, fmt, flavor=flavor or "github", standalone=standalone)
        what = fmt
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise SymparamError(f"cannot write {out}: {err.strerror or err}") from None
    click.echo(f"wrote {out} ({what})", err=True)


@main.command()
@json_option
def examples(as_json: bool) -> None:
    """List the shipped examples and zoo models (for --example and --zoo)."""
    listing = {}
    for kind in ("examples", "zoo"):
        rows = []
        for name, path in shipped(kind).items():
            try:
                models, error = list(parse_file(path).models), ""
            except SymparamError as err:
                models, error = [], str(err).splitlines()[0]
            rows.append({"name": name, "models": models, "about": _first_comment(path),
                         **({"error": error} if error else {})})
        listing[kind] = rows
    if as_json:
        return echo_json({"schema": SCHEMA_VERSION, "command": "examples", **listing})
    for kind, option in (("examples", "--example"), ("zoo", "--zoo")):
        click.echo(f"{kind.capitalize()} (symparam count {option} NAME):")
        lines = [(str(r["name"]), ", ".join(r["models"]) or (
                     f"does not parse: {r['error']}" if "error" in r else "no model"),
                  str(r["about"])) for r in listing[kind]]
        if not lines:
            click.echo("  (none yet)")
        width = max((len(r[0]) for r in lines), default=0)
        mwidth = max((len(r[1]) for r in lines), default=0)
        for name, names, about in lines:
            click.echo(f"  {name.ljust(width)}   {names.ljust(mwidth)}   {about}".rstrip())


def _first_comment(path: Path, width: int = 72) -> str:
    """The first sentence of the file's opening comment (cut at a word if long)."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text.startswith("#") or (words and not text.lstrip("#").strip()):
            if words or text:
                break
            continue
        words += text.lstrip("#").split()
    about = " ".join(words)
    sentence = re.match(r"(.+?[.?!])(\s|$)", about)
    if sentence and len(sentence.group(1)) <= width:
        return sentence.group(1)
    if len(about) > width:
        about = about[:width].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
    return about
