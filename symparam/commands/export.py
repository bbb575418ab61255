"""``export`` and ``check``: a model as PyTorch or Keras code, and that code built in
the framework and compared with symparam's counts. Nothing here computes: the code
comes from :mod:`symparam.export`, the comparison from :mod:`symparam.export.check`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..analyze import analyze
from ..errors import SymparamError
from ..cli import main
from ..export import FRAMEWORKS, export
from ..render.data import head
from ..stats import ModelStats
from .basic import echo_json, load

_FRAMEWORK = click.Choice(FRAMEWORKS)


def _source_options(command):
    """The model options of every command, less --convention: the framework decides."""
    command = click.option("--symbolic", is_flag=True,
                           help="Ignore the defaults: symbols without --set become "
                                "arguments without a default.")(command)
    command = click.option("--set", "-s", "sets", multiple=True, metavar="SYMBOL=VALUE",
                           help="Give a symbol a value (repeatable; or n=1,h=2); it "
                                "becomes the symbol's default.")(command)
    command = click.option("--model", "-m", "model", metavar="NAME",
                           help="Which model of the file (needed when it has several)."
                           )(command)
    command = click.option("--zoo", metavar="NAME",
                           help="A model of the shipped zoo instead of FILE.")(command)
    command = click.option("--example", metavar="NAME",
                           help="A shipped example instead of FILE.")(command)
    return click.argument("file", required=False, type=click.Path(
        dir_okay=False, allow_dash=True, path_type=Path))(command)


def _load(file, example, zoo, model, sets, symbolic: bool, framework: str) -> tuple[ModelStats, list[str]]:
    """The model in the framework's convention, and where its counts differ from the
    file's own convention (a Keras file exported to PyTorch)."""
    stats = load(file, example, zoo, model, sets, symbolic, framework)
    notes: list[str] = []
    try:
        own = analyze(stats.document, values={str(k): v for k, v in stats.values.items()},
                      symbolic=symbolic)
    except SymparamError:  # the file's own convention refuses it: nothing to compare
        return stats, notes
    if own.convention != framework and own.complete and stats.complete:
        theirs = {layer.name: layer for layer in own.layers}
        for layer in stats.layers:
            other = theirs.get(layer.name)
            if other is None:
                continue
            mine = [stats.value(x) for x in (layer.trainable, layer.non_trainable,
                                             layer.buffers)]
            old = [own.value(x) for x in (other.trainable, other.non_trainable,
                                          other.buffers)]
            if mine != old:
                notes.append(f"layer '{layer.name}' (line {layer.line}): convention "
                             f"{own.convention} counts {old[0]:,} trainable, {old[1]:,} "
                             f"non-trainable, {old[2]:,} buffers; {framework} "
                             f"{mine[0]:,}, {mine[1]:,}, {mine[2]:,}")
    return stats, notes


def _name(file, example, zoo) -> str:
    return str(file) if file is not None else str(example or zoo or "")


@main.command("export")
@_source_options
@click.option("--to", "framework", type=_FRAMEWORK, required=True,
              help="The framework: torch (an nn.Module) or keras (a functional model).")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the code to OUT.py instead of standard output.")
def export_command(file, example, zoo, model, sets, symbolic, framework: str,
                   out: Optional[Path]) -> None:
    """Write a model as PyTorch or Keras code, its symbols as arguments.

    \b
    Examples:
      symparam export model.symp --to torch -o model.py
      symparam export --zoo gpt2 --model gpt2 --to torch
      symparam export --example seed000 --to keras
    """
    stats, notes = _load(file, example, zoo, model, sets, symbolic, framework)
    code = export(stats, framework, _name(file, example, zoo)).source
    if notes:
        lines = code.split("\n")
        at = 2  # after the header comment
        comment = [f"# Counted in convention {framework}, not the file's; the counts "
                   "differ in:"] + [f"#   {n!r}" for n in notes]
        code = "\n".join(lines[:at] + comment + lines[at:])
    if out is None:
        click.echo(code, nl=False)
    else:
        out.write_text(code, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


@main.command("check")
@_source_options
@click.option("--against", "framework", type=_FRAMEWORK, required=True,
              help="Build the export in torch (on the meta device) or keras.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document instead (see docs/cli.md).")
@click.pass_context
def check_command(ctx: click.Context, file, example, zoo, model, sets, symbolic,
                  framework: str, as_json: bool) -> None:
    """Build the exported model in the framework and compare every count and shape.

    Exit 0 when they agree, 1 when they differ, 2 on bad input (or without the
    framework installed).

    \b
    Examples:
      symparam check model.symp --against torch
      symparam check --zoo resnet18 --against torch --json
    """
    from ..export.check import check
    stats, notes = _load(file, example, zoo, model, sets, symbolic, framework)
    report = check(stats, framework, _name(file, example, zoo))
    if as_json:
        echo_json({**head(stats, "check"), **report.as_dict(),
                   "convention_notes": notes})
    else:
        click.echo(f"Model {stats.name!r} against {framework}:")
        for key in ("total", "trainable", "non_trainable", "buffers"):
            click.echo(f"  {key:<14} symparam {report.symparam[key]:>15,}   "
                       f"{framework} {report.measured[key]:>15,}")
        for line in report.differences:
            click.echo(f"  differs: {line}")
        for line in (*report.notes, *notes):
            click.echo(f"  note: {line}")
        click.echo("equal" if report.equal else
                   f"{len(report.differences)} difference(s)")
    ctx.exit(0 if report.equal else 1)
