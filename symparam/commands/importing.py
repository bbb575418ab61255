"""``import``: write an editable ``.symp`` file from a Hugging Face ``config.json``, or
from a PyTorch model (:mod:`symparam.imports` writes it; this prints it or saves it)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..cli import main
from ..errors import SymparamError, UsageError
from ..imports import import_hf, import_torch
from ..numbers import parse_sets, read_number
from ..render.data import SCHEMA_VERSION
from .basic import echo_json, json_option


@main.command(name="import")
@click.argument("source")
@click.option("--from", "origin", type=click.Choice(["hf", "torch"]), default="hf",
              show_default=True, help="hf: SOURCE is a config.json or its folder; torch: "
              "SOURCE is MODULE:NAME, a class or function building an nn.Module (its code "
              "runs: only code you trust).")
@click.option("--input", "input_shape", metavar="D1,D2,...",
              help="--from torch: the input's shape without the batch (3,224,224).")
@click.option("--symbol", "symbols", multiple=True, metavar="NAME=VALUE",
              help="--from torch: write VALUE as the symbol NAME (repeatable): in the "
                   "input's shape and as a layer's width.")
@click.option("--name", metavar="NAME",
              help="The model's name (default: the model_type, or NAME of MODULE:NAME).")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the .symp file to OUT (and say so on stderr) instead of printing.")
@json_option
def import_command(source: str, origin: str, input_shape: Optional[str],
                   symbols: tuple[str, ...], name: Optional[str], out: Optional[Path],
                   as_json: bool) -> None:
    """Write a model in the language from a Hugging Face config.json (or a folder
    holding one): its hyperparameters become the symbols, its values their defaults.
    Reads the file as JSON; needs neither transformers nor the network. With
    --from torch, from a PyTorch model traced by torch.fx instead.

    \b
    Examples:
      symparam import config.json
      symparam import ./Llama-3-8B -o llama3.symp --name llama3_8b
      symparam import torchvision.models:resnet18 --from torch --input 3,224,224
    """
    if origin == "torch":
        if not input_shape:
            raise UsageError("--from torch needs --input, the input's shape without the "
                             "batch (--input 3,224,224)")
        shape = tuple(read_number(d, "an input size") for d in input_shape.split(","))
        imported = import_torch(source, shape, parse_sets(symbols), name)
    elif input_shape or symbols:
        raise UsageError("--input and --symbol go with --from torch")
    else:
        imported = import_hf(source, name)
    if as_json:
        echo_json({"schema": SCHEMA_VERSION, "command": "import", "model": imported.name,
                   "convention": "torch", "symbols": imported.symbols,
                   "source": imported.source, "model_type": imported.model_type,
                   "builds": imported.builds, "keys": imported.keys,
                   "text": imported.text})
        return
    if out is None:
        click.echo(imported.text, nl=False)
        return
    try:
        out.write_text(imported.text, encoding="utf-8")
    except OSError as err:
        raise SymparamError(f"cannot write {out}: {err}") from None
    click.echo(f"wrote {out}", err=True)
