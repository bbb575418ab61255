"""Bringing a model in: ``symparam import`` writes an editable ``.symp`` file from a
Hugging Face ``config.json`` (read as JSON, never as code; transformers is not
needed). The symbols are the config's hyperparameters under readable names, with the
config's values as defaults; the file says where it came from.

``config.py`` reads and checks the file; ``families.py`` is the table of families.
This package imports only the foundations (it checks what it writes with the parser);
only the command line imports it.

>>> from symparam.imports.config import parse_config
>>> imported = import_config(parse_config('{"model_type": "gpt2", "n_layer": 2}'))
>>> imported.builds, imported.symbols["n_layers"]
('GPT2LMHeadModel', 2)
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from ..parser import parse
from .config import Config, read_config
from .families import FAMILIES, NOT_YET
from .names import comment_text, identifier


@dataclass(frozen=True)
class Imported:
    """A written model: its text, name, the transformers class it mirrors, its
    symbols with their values and the config keys they come from."""

    text: str
    name: str
    model_type: str
    builds: str
    symbols: dict[str, int]
    keys: dict[str, str]
    source: str


def import_hf(path: str | Path, name: str | None = None) -> Imported:
    """Write the model of a Hugging Face config file (or a folder holding
    ``config.json``)."""
    return import_config(read_config(path), name)


def import_torch(spec: str, shape: tuple[int, ...], symbols: dict[str, int] | None = None,
                 name: str | None = None) -> Imported:
    """Write the PyTorch model ``spec`` (``module:name``) builds, traced for inputs of
    ``shape`` (without the batch); ``symbols`` are numbers written as symbols. Runs
    the user's code (see :mod:`symparam.imports.torch_module`)."""
    from .torch_module import write_torch
    symbols = dict(symbols or {})
    model = identifier(name or spec.rpartition(":")[2].split(".")[-1])
    text, builds = write_torch(spec, shape, symbols, model)
    parse(text, filename=f"<imported from {spec}>")
    return Imported(text, model, "torch", builds, symbols, {k: "--symbol" for k in symbols},
                    spec)


def import_config(cfg: Config, name: str | None = None) -> Imported:
    """Write the model of a parsed config (see :func:`import_hf`)."""
    model_type = cfg.get("model_type", None)
    if model_type is None:
        raise cfg.error(None, "the config has no 'model_type', so its family is unknown "
                              f"(supported: {', '.join(FAMILIES)})")
    family = FAMILIES.get(model_type) if isinstance(model_type, str) else None
    if family is None:
        why = f": {NOT_YET[model_type]}" if model_type in NOT_YET else ""
        raise cfg.error("model_type", f"model_type {str(model_type)[:60]!r} is not one "
                                      f"symparam imports yet{why} (supported: "
                                      f"{', '.join(FAMILIES)})")
    written = family.write(cfg.with_defaults(family.defaults))
    model = identifier(name or model_type)
    signature = ", ".join(f"{s.name} = {s.value}" for s in written.symbols)
    keys = ", ".join(f"{s.name} = {s.key}" for s in written.symbols)
    source = Path(cfg.filename).name if cfg.filename else "config.json"
    header = [f"Imported by `symparam import` from {comment_text(cfg.filename)} (model_type "
              f"{model_type!r}): transformers' {family.builds} built from this config, "
              f"counted as PyTorch does.",
              f"Symbols, from the config's keys: {keys}."]
    header += [f"Note: {note}." for note in written.notes]
    comment = "\n".join("# " + line for para in header
                        for line in textwrap.wrap(para, 86, break_on_hyphens=False))
    text = (f"{comment}\nconvention torch\n\n{written.blocks}\n"
            f"model {model}({signature}):\n{written.body}")
    parse(text, filename=f"<imported from {source}>")  # a family's mistake fails here
    return Imported(text, model, model_type, family.builds,
                    {s.name: s.value for s in written.symbols},
                    {s.name: s.key for s in written.symbols}, cfg.filename)
