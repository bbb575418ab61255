"""``cost``: multiply-accumulates and FLOPs of a forward pass, per layer and in total,
as formulas, under a stated FLOP convention. The arithmetic is in the layer kinds and
:mod:`symparam.costs`; the tables in :mod:`symparam.analysis.costs`."""
from __future__ import annotations

import click

from ..cli import main
from ..errors import UsageError
from .basic import json_option, model_options


def _preset_names() -> list[str]:
    from ..costs import PRESETS
    return list(PRESETS)


@main.command()
@model_options
@click.option("--preset", type=click.Choice(_preset_names()), default=None,
              help="A named counting convention (symparam, flopcounter, kaplan, palm: see "
                   "docs/analysis.md); the options below given explicitly change it.")
@click.option("--against", type=click.Choice(_preset_names()), default=None,
              help="Compare with another preset: the layers whose FLOPs differ and the "
                   "difference of the totals.")
@click.option("--masks/--no-masks", "masks", default=True, show_default=True,
              help="Causal masks and windows skip the attention scores they hide "
                   "(--no-masks: count the full products, as FlopCounterMode does).")
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
@click.pass_context
def cost(ctx, stats, preset, against, masks, flops_per_mac, with_bias, with_activations,
         with_elementwise, backward, backward_factor, per, as_json) -> None:
    """Multiply-accumulates (MACs) and FLOPs of a forward pass per example, per layer
    and in total, as formulas in the model's symbols; the FLOP convention is printed.

    \b
    Examples:
      symparam cost docs/examples/kaplan.symp --per n_ctx
      symparam cost --zoo resnet50 --flops-per-mac 1
      symparam cost gpt.symp --with-bias --with-activations --backward --json
      symparam cost --zoo llama3_8b --preset palm --per T
      symparam cost --example kaplan --preset kaplan --against palm --per n_ctx
    """
    import dataclasses

    from click.core import ParameterSource

    from ..analysis.costs import cost_json, cost_report, cost_text
    from ..costs import PRESETS, FlopConvention
    from ..render.fmt import unreached_note

    given = {"flops_per_mac": int(flops_per_mac), "bias": with_bias,
             "activations": with_activations, "elementwise": with_elementwise,
             "backward": backward, "backward_factor": backward_factor, "masks": masks}
    options = {"flops_per_mac": "flops_per_mac", "bias": "with_bias",
               "activations": "with_activations", "elementwise": "with_elementwise",
               "backward": "backward", "backward_factor": "backward_factor",
               "masks": "masks"}
    if preset is None:
        convention = FlopConvention(**given)
    else:  # the preset, changed by the options written on the command line
        convention = dataclasses.replace(PRESETS[preset].convention, **{
            field: given[field] for field, option in options.items()
            if ctx.get_parameter_source(option) == ParameterSource.COMMANDLINE})
    report = cost_report(stats, convention, per)
    if against is not None:
        from ..analysis.costs import preset_diff_text
        if as_json:
            raise UsageError("--against prints text only: run --json once per preset")
        other = cost_report(stats, PRESETS[against].convention, per)
        click.echo(preset_diff_text(report, other, (preset or "this convention", against)))
        return
    if as_json:
        click.echo(cost_json(report))
        return
    note = unreached_note(stats)  # what Keras leaves out of the model costs nothing
    click.echo(cost_text(report) + ("\n\n" + note if note else ""))
