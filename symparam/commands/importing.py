"""``import``: write an editable ``.symp`` file from a Hugging Face ``config.json``
(:mod:`symparam.imports` writes it; this prints it or saves it)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..cli import main
from ..errors import SymparamError
from ..imports import import_hf
from ..render.data import SCHEMA_VERSION
from .basic import echo_json, json_option


@main.command(name="import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--name", metavar="NAME", help="The model's name (default: its model_type).")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the .symp file to OUT (and say so on stderr) instead of printing.")
@json_option
def import_command(source: Path, name: Optional[str], out: Optional[Path],
                   as_json: bool) -> None:
    """Write a model in the language from a Hugging Face config.json (or a folder
    holding one): its hyperparameters become the symbols, its values their defaults.
    Reads the file as JSON; needs neither transformers nor the network.

    \b
    Examples:
      symparam import config.json
      symparam import ./Llama-3-8B -o llama3.symp --name llama3_8b
    """
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
