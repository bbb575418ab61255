"""``explain``: a layer's card (its equation, weights, counts, shapes, and how Keras
and PyTorch differ), its output at the initial values for an input, the list of
layer kinds, and the layer reference (docs/layers.md). The cards are built by
:mod:`symparam.cards` and laid out by :mod:`symparam.render.cards`; this module only
prints them."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..cli import main
from .basic import echo_json


@main.command()
@click.argument("layer", required=False)
@click.option("--convention", type=click.Choice(["keras", "torch"]), default="keras",
              show_default=True,
              help="Which framework comes first, and whose initial values --input uses.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "latex"]),
              default="text", show_default=True, help="Output format.")
@click.option("--input", "-i", "input_text", metavar="VALUES",
              help="Evaluate the layer at its initial values (inference) on this batch: "
                   "',' separates values, ';' examples (or rows, with '|' between "
                   "examples), e.g. \"0,1;2,3\".")
@click.option("--list", "list_kinds", is_flag=True,
              help="List every layer kind, by family.")
@click.option("--reference", is_flag=True,
              help="The layer reference, docs/layers.md: every kind's card, by family.")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="With --reference: write it to OUT instead of the terminal.")
@click.option("--check", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="With --reference: exit 1, naming the command that regenerates it, "
                   "when FILE is not the reference.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document instead (see docs/cli.md): the card, or with "
                   "--list the kinds by family.")
def explain(layer: Optional[str], convention: str, fmt: str, input_text: Optional[str],
            list_kinds: bool, reference: bool, out: Optional[Path],
            check: Optional[Path], as_json: bool) -> None:
    """A layer's card: forward equation, weights with shapes and initial values,
    parameter count and output shape in both conventions, and their differences.
    LAYER is a layer name, or a whole call such as "groupnorm 2, epsilon = 0.01"
    (its arguments are used by --input).

    \b
    Examples:
      symparam explain batchnorm --input "0,1;2,3"
      symparam explain lstm --convention torch
      symparam explain dense --format markdown
      symparam explain --list
      symparam explain --reference -o docs/layers.md
    """
    from .. import cards
    from ..errors import SymparamError, UsageError
    from ..render import cards as card_text

    if (out or check) and not reference:
        raise UsageError("--output and --check go with --reference")
    if reference:
        if layer or list_kinds or input_text:
            raise UsageError("--reference lists every layer: leave out LAYER, --list and "
                             "--input")
        text = card_text.reference()
        if check is not None:
            try:
                current = check.read_text(encoding="utf-8")
            except OSError as err:
                raise UsageError(f"cannot read {check}: {err.strerror or err}") from None
            if current != text:
                click.echo(f"{check} is stale: run symparam explain --reference -o {check}",
                           err=True)
                click.get_current_context().exit(1)
        if out is not None:
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as err:
                raise SymparamError(f"cannot write {out}: {err.strerror or err}") from None
            click.echo(f"wrote {out}", err=True)
        elif check is None:
            click.echo(text, nl=False)
        return
    if list_kinds and as_json:
        from ..render.data import SCHEMA_VERSION
        return echo_json({"schema": SCHEMA_VERSION, "command": "explain", "families": [
            {"family": family.title, "kinds": [{"name": k.names[0], "aliases": list(
                k.names[1:])} for k in members]} for family, members in cards.families()]})
    if list_kinds:
        for family, members in cards.families():
            click.echo(f"{family.title}:")
            for kind in members:
                others = f" (also {', '.join(kind.names[1:])})" if len(kind.names) > 1 else ""
                click.echo(f"  {kind.names[0]}{others}")
        return
    if not layer:
        raise UsageError("name a layer: symparam explain LAYER (--list lists them)")
    word = layer.strip().split(None, 1)[0].rstrip(",")
    card = cards.card(word)
    evaluation = cards.evaluate(layer, input_text, convention) if input_text else None
    if as_json:
        from ..render.data import card_dict
        return echo_json(card_dict(card, evaluation))
    click.echo(card_text.render(card, fmt, convention, evaluation), nl=False)
