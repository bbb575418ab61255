"""``sweep``, ``solve``, ``leading``, ``memory`` and ``diff``: the analysis commands.
They read a model with the shared options of :mod:`.basic`, call
:mod:`symparam.analysis`, and print what :mod:`symparam.analysis.report` makes of it."""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import click

from ..cli import main
from ..errors import UsageError
from .basic import ConventionChoice, echo_json, json_option, load, model_options

PROGRESS_MIN = 200_000  # points from which a terminal gets a progress bar


def metric_options(command):
    """--dtype, --batch, --optimizer, --precision: how memory metrics are counted."""
    @click.option("--dtype", default="fp32", show_default=True,
                  help="Bytes per value for memory: fp32, bf16, fp16, int8, ...")
    @click.option("--batch", type=click.IntRange(min=1), default=None,
                  help="Batch size for activation memory (default: the symbol 'batch', "
                       "which --grid can sweep).")
    @click.option("--optimizer", default="adam", show_default=True,
                  help="For training memory: adam, adamw, sgd, momentum, rmsprop, adagrad.")
    @click.option("--precision", type=click.Choice(["fp32", "mixed"]), default="fp32",
                  show_default=True, help="For training memory: fp32, or mixed (16-bit "
                  "weights and gradients, fp32 master weights and moments).")
    @click.option("--devices", type=click.IntRange(min=1), default=1, show_default=True,
                  help="For training memory: data-parallel devices; the figures are per "
                       "device.")
    @click.option("--zero", type=click.IntRange(0, 3), default=0, show_default=True,
                  help="For training memory: the ZeRO stage splitting the state over the "
                       "devices (1 optimizer state, 2 + gradients, 3 + weights).")
    @functools.wraps(command)
    def wrapper(*args, dtype, batch, optimizer, precision, devices, zero, **rest):
        from ..analysis.metrics import MetricOptions
        from ..analysis.memory import OPTIMIZERS, dtype_bytes
        dtype_bytes(dtype)  # an unknown dtype fails before any work
        if optimizer.lower() not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer '{optimizer}'; known: {', '.join(OPTIMIZERS)}")
        if zero and devices == 1:
            raise UsageError(f"--zero {zero} splits the training state over several "
                             f"devices: give --devices N (N > 1)")
        return command(*args, options=MetricOptions(dtype, batch, optimizer, precision,
                                                    devices, zero), **rest)
    return wrapper


@main.command()
@model_options
@click.option("--grid", "-g", "grids", multiple=True, required=True, metavar="NAME=VALUES",
              help="Values of a symbol: d=256,512,1024 or L=6..48:6 or d=256..8192:*2 "
                   "(repeat for more symbols; the grid is their product).")
@click.option("--metric", "metric_text", default="params", show_default=True,
              help="Comma-separated: params, trainable, non_trainable, buffers, memory, "
                   "activations, training, kv_cache, inference, non_embedding, embedding, macs, "
                   "flops.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]),
              default="table", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the sweep into OUT.png or OUT.svg (needs matplotlib).")
@json_option
@metric_options
def sweep(stats, grids, metric_text, fmt, plot, as_json, options) -> None:
    """Evaluate metrics over a grid of symbol values, exactly (no rounding, any size).

    \b
    Examples:
      symparam sweep gpt.symp --grid d=256,512,1024 --grid L=6..48:6
      symparam sweep gpt.symp -g d=512..8192:*2 --metric params,training --precision mixed
      symparam sweep --zoo vgg16 -g H=32..224:32 --metric activations --batch 32 --plot a.png
    """
    from ..analysis import report
    from ..analysis.grid import parse_grid
    from ..analysis.metrics import BYTES, parse_metrics
    from ..analysis.sweep import sweep as run_sweep

    metrics = parse_metrics(metric_text)
    grid = [parse_grid(g) for g in grids]
    npoints = 1
    for _, values in grid:
        npoints *= len(values)
    if sys.stdout.isatty() and npoints >= PROGRESS_MIN:
        with click.progressbar(length=npoints * len(metrics), label="sweeping",
                               file=sys.stderr) as bar:
            result = run_sweep(stats, grid, metrics, options, progress=bar.update)
    else:
        result = run_sweep(stats, grid, metrics, options)
    for note in report.sweep_notes(result):
        click.echo(note, err=True)
    if stats.uncounted and {"macs", "flops"} & set(metrics):
        click.echo(f"not in macs/flops (their kinds state no cost): "
                   f"{', '.join(stats.uncounted)}", err=True)
    out = sys.stdout
    if as_json:
        from ..analysis.data import sweep_json
        lines = sweep_json(result, stats)
    else:
        lines = report.sweep_lines(result, fmt)
    for line in lines:
        out.write(line + "\n")
    out.flush()
    if plot is not None:
        from ..analysis.plot import plot_sweep
        plot_sweep(result, plot, {m: "B" for m in metrics if m in BYTES})
        click.echo(f"plot written to {plot}", err=True)


@main.command()
@model_options
@click.option("--for", "symbol", required=True, metavar="SYMBOL", help="The symbol to solve for.")
@click.option("--target", required=True, metavar="METRIC=VALUE",
              help="params=7e9, trainable=1.3B, training=80GB, ...")
@click.option("--where", "conditions", multiple=True, metavar="CONDITION",
              help="An admissibility condition such as \"d % H == 0\" (repeatable).")
@click.option("--ignore-model-checks", is_flag=True,
              help="Do not require the model's own conditions (divisibility by heads...).")
@json_option
@metric_options
def solve(stats, symbol, target, conditions, ignore_model_checks, as_json, options) -> None:
    """The value of one symbol that meets a target: the exact real root and the
    nearest admissible whole numbers, with their exact counts.

    \b
    Examples:
      symparam solve gpt.symp --for d --target params=7e9
      symparam solve gpt.symp --for d --target params=7e9 --set L=32 --where "d % 128 == 0"
    """
    from ..analysis.report import solve_text
    from ..analysis.solve import solve as run_solve
    from ..analysis.targets import parse_condition, parse_target

    metric, value = parse_target(target)
    where = [rel for text in conditions for rel in parse_condition(text, stats)]
    result = run_solve(stats, symbol, metric, value, options, where,
                       model_checks=not ignore_model_checks)
    if as_json:
        from ..analysis.data import solve_dict
        return echo_json(solve_dict(result, stats))
    click.echo(solve_text(result, stats))


@main.command()
@model_options
@click.option("--in", "names", required=True, metavar="SYMBOLS",
              help="The growing symbols, comma-separated: --in d,L")
@click.option("--metric", default="params", show_default=True)
@click.option("--group", "group_by", type=click.Choice(["kind", "block"]), default="kind",
              show_default=True, help="Group layers by kind (embeddings, attention, "
                                      "feed-forward, ...) or by their outermost block.")
@json_option
@metric_options
def leading(stats, names, metric, group_by, as_json, options) -> None:
    """The dominant terms as some symbols grow, and each layer group's share.

    \b
    Examples:
      symparam leading gpt.symp --in d,L
      symparam leading --zoo vgg16 --in K --group block
    """
    from ..analysis.leading import leading as run_leading
    from ..analysis.metrics import parse_metrics
    from ..analysis.report import leading_text

    (metric,) = parse_metrics(metric)
    syms = [n.strip() for n in names.split(",") if n.strip()]
    result = run_leading(stats, syms, metric, options, group_by)
    if as_json:
        from ..analysis.data import leading_dict
        return echo_json(leading_dict(result, stats))
    click.echo(leading_text(result))


@main.command()
@model_options
@click.option("--dtypes", default="fp32,bf16,int8", show_default=True,
              help="Comma-separated dtypes for the parameter memory table.")
@click.option("--layers", "all_layers", is_flag=True,
              help="List every layer's activation memory, not only the five largest.")
@json_option
@metric_options
def memory(stats, dtypes, all_layers, as_json, options) -> None:
    """Parameter memory per dtype, training memory (weights, gradients, optimizer
    state), activation memory for a batch and, for a model with causal attention, the
    KV cache of its sequence length: formulas and bytes.

    \b
    Examples:
      symparam memory gpt.symp --optimizer adam --precision mixed
      symparam memory --zoo resnet50 --batch 32 --dtype bf16
      symparam memory --zoo llama3_8b --set T=8192 --batch 1 --dtype bf16
      symparam memory --zoo llama3_8b --precision mixed --devices 8 --zero 3
    """
    from ..analysis.memory import activation_memory, kv_cache_memory, training_memory
    from ..analysis.report import memory_text
    from ..render.fmt import unreached_note

    names = [d.strip() for d in dtypes.split(",") if d.strip()]
    training = training_memory(stats, options.optimizer, options.precision,
                               options.devices, options.zero)
    activations = activation_memory(stats, options.batch, options.dtype)
    kv = kv_cache_memory(stats, options.batch, options.dtype)
    if as_json:
        from ..analysis.data import memory_dict
        return echo_json(memory_dict(stats, names, training, activations, kv))
    text = memory_text(stats, names, training, activations, all_layers, kv)
    note = unreached_note(stats)  # what Keras leaves out of the model takes no memory
    click.echo(text + ("\n\n" + note if note else ""))


@main.command()
@click.argument("file_a", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("file_b", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--example", metavar="NAME", help="A shipped example as A (FILE, if given, is B).")
@click.option("--zoo", metavar="NAME", help="A zoo model as A (FILE, if given, is B).")
@click.option("--model", "-m", metavar="NAME", help="Model of A (and of B, unless --model-b).")
@click.option("--model-b", metavar="NAME", help="Model of B.")
@click.option("--set", "-s", "sets", multiple=True, metavar="SYMBOL=VALUE",
              help="Give a symbol a value in both models.")
@click.option("--convention", type=ConventionChoice(),
              help="Convention of A (default: the file's).")
@click.option("--against", type=ConventionChoice(),
              help="Convention of B (default: the file's); with one FILE, compares it "
                   "with itself under --convention and --against.")
@click.option("--all", "show_all", is_flag=True, help="List every layer, not only those "
                                                        "that differ.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "latex", "json"]),
              default="text", show_default=True)
@json_option
def diff(file_a: Optional[Path], file_b: Optional[Path], example, zoo, model, model_b, sets,
         convention, against, show_all, fmt, as_json) -> None:
    """The symbolic difference A − B, layer by layer: two models, or one model
    under two conventions. Layers are paired by structure (kind, block/repeat path,
    arguments, position): each is added (B only), removed (A only), changed (saying
    what) or the same. Each side is counted at its own values (--set applies to
    both); a symbol whose values differ is written h_A and h_B in the differences.

    \b
    Examples:
      symparam diff keras_resnet50.symp torchvision_resnet50.symp
      symparam diff model.symp --convention keras --against torch
      symparam diff --zoo resnet50 --convention keras --against torch
      symparam diff a.symp b.symp --format markdown
    """
    from ..analysis.diff import diff as run_diff
    from ..analysis.diff_output import diff_output

    if str(file_a) == "-" and str(file_b) == "-":
        raise UsageError("only one of A and B can be standard input ('-'): it is read once")
    shipped = example or zoo
    if shipped and file_a is not None and file_b is None:
        file_a, file_b = None, file_a  # `--zoo NAME FILE`: the FILE is B
    if file_b is None and (convention is None or against is None or convention == against):
        raise UsageError("give a second FILE, or compare one file under two conventions "
                         "with --convention keras --against torch")
    a = load(file_a, example, zoo, model, sets, False, convention)
    if file_b is None:
        b = load(file_a, example, zoo, model_b or model, sets, False, against)
    else:
        b = load(file_b, None, None, model_b or model, sets, False, against)
    name_a = file_a or (f"--example {example}" if example else f"--zoo {zoo}")
    label_a = f"{name_a} ({a.name}, convention {a.convention})"
    label_b = f"{file_b or name_a} ({b.name}, convention {b.convention})"
    fmt = "json" if as_json else fmt
    click.echo(diff_output(run_diff(a, b), label_a, label_b, fmt, show_all), nl=fmt == "text")
