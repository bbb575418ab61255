"""``explain``: a layer's card (its equation, weights, counts, shapes, and how Keras
and PyTorch differ), and its output at the initial values for an input. The card
is built by :mod:`symparam.cards`; this module only prints it."""
from __future__ import annotations

from typing import Optional

import click

from ..cli import main


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
def explain(layer: Optional[str], convention: str, fmt: str, input_text: Optional[str],
            list_kinds: bool) -> None:
    """A layer's card: forward equation, weights with shapes and initial values,
    parameter count and output shape in both conventions, and their differences.
    LAYER is a layer name, or a whole call such as "groupnorm 2, epsilon = 0.01"
    (its arguments are used by --input).

    \b
    Examples:
      symparam explain batchnorm --input "0,1;2,3"
      symparam explain lstm --convention torch
      symparam explain dense --format markdown
    """
    from .. import cards
    from ..errors import UsageError

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
    click.echo(cards.render(card, fmt, convention, evaluation), nl=False)
