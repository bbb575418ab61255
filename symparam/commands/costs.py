"""``cost``: multiply-accumulates and FLOPs of a forward pass, per layer and in total,
as formulas, under a stated FLOP convention. The arithmetic is in the layer kinds and
:mod:`symparam.costs`; the tables in :mod:`symparam.analysis.costs`."""
from __future__ import annotations

import click

from ..cli import main
from .basic import json_option, model_options


@main.command()
@model_options
@click.option("--flops-per-mac", type=click.Choice(["1", "2"]), default="2", show_default=True,
              help="FLOPs per multiply-accumulate: 2 (a multiply and an add, as PyTorch's "
                   "FlopCounterMode and Kaplan et al. count) or 1 (fvcore, ptflops, thop).")
@click.option("--with-bias/--no-bias", default=False, show_default=True,
              help="Count bias additions (1 FLOP each).")
@click.option("--with-activations/--no-activations", default=False, show_default=True,
              help="Count activation evaluations, softmax and gates included (1 FLOP each).")
@click.option("--with-elementwise/--no-elementwise", default=False, show_default=True,
              help="Count the other element operations: merges, pooling, normalization, "
                   "attention's scaling, recurrent state updates (1 FLOP each).")
@click.option("--backward", is_flag=True,
              help="Forward + backward: --backward-factor x the forward FLOPs.")
@click.option("--backward-factor", type=click.IntRange(min=1), default=3, show_default=True,
              help="Forward + backward as a multiple of the forward pass.")
@click.option("--per", metavar="SYMBOL", default=None,
              help="Divide every figure by a symbol: --per n_ctx gives the cost per token.")
@json_option
def cost(stats, flops_per_mac, with_bias, with_activations, with_elementwise, backward,
         backward_factor, per, as_json) -> None:
    """Multiply-accumulates (MACs) and FLOPs of a forward pass per example, per layer
    and in total, as formulas in the model's symbols; the FLOP convention is printed.

    \b
    Examples:
      symparam cost docs/examples/kaplan.symp --per n_ctx
      symparam cost --zoo resnet50 --flops-per-mac 1
      symparam cost gpt.symp --with-bias --with-activations --backward --json
    """
    from ..analysis.costs import cost_json, cost_report, cost_text
    from ..costs import FlopConvention
    from ..render.fmt import unreached_note

    convention = FlopConvention(int(flops_per_mac), with_bias, with_activations,
                                with_elementwise, backward, backward_factor)
    report = cost_report(stats, convention, per)
    if as_json:
        click.echo(cost_json(report))
        return
    note = unreached_note(stats)  # what Keras leaves out of the model costs nothing
    click.echo(cost_text(report) + ("\n\n" + note if note else ""))
