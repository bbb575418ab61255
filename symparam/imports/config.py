"""Reading a Hugging Face ``config.json`` as data, never as code: ``json`` with limits
(size, nesting, no NaN, no repeated keys), and a :class:`Config` whose getters check
each value they hand out (a size is a positive whole number, a flag a boolean) and
name the key and its line in the file when one is wrong or missing.

May import the foundations only (``errors``, ``limits``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from ..errors import SourceError, SymparamError
from ..limits import MAX_CONFIG_BYTES, MAX_CONFIG_NESTING, MAX_DIGITS

_MISSING = object()


def find_config(path: str | Path) -> Path:
    """The config file ``path`` names: the file itself, or ``config.json`` in a folder."""
    p = Path(path)
    if p.is_dir():
        inner = p / "config.json"
        if not inner.is_file():
            raise SymparamError(f"the folder {p} holds no config.json")
        return inner
    if not p.exists():
        raise SymparamError(f"no such file: {p}")
    return p


def read_config(path: str | Path) -> "Config":
    """Read and check a config file (or a folder holding ``config.json``)."""
    p = find_config(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise SymparamError(f"{p}: the file has {size:,} bytes, more than the limit "
                                f"MAX_CONFIG_BYTES = {MAX_CONFIG_BYTES:,} for a config file")
        raw = p.read_bytes()
    except OSError as err:
        raise SymparamError(f"cannot read {p}: {err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SymparamError(f"{p}: not UTF-8 text (byte {err.start + 1})") from None
    return parse_config(text, str(p))


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _check_nesting(text: str, filename: str) -> None:
    """Refuse brackets nested past MAX_CONFIG_NESTING before ``json`` recurses into them."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_CONFIG_NESTING:
                line, column = _line_column(text, m.start())
                raise SourceError(f"brackets nested more than MAX_CONFIG_NESTING = "
                                  f"{MAX_CONFIG_NESTING} deep", line, column, text, filename)
        elif token in "]}":
            depth -= 1


def _top_level_keys(text: str) -> dict[str, int]:
    """Where each key of the top-level object starts (an index into ``text``)."""
    keys: dict[str, int] = {}
    depth = 0
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"(\s*:)?|[\[{]|[\]}]', text):
        token = m.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
        elif depth == 1 and m.group(2):
            keys.setdefault(json.loads(f'"{m.group(1)}"'), m.start())
    return keys


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} is given twice")
        out[key] = value
    return out


def parse_config(text: str, filename: str = "config.json") -> "Config":
    """Parse the text of a config file: a JSON object.

    >>> parse_config('{"model_type": "gpt2", "n_embd": 768}').size("n_embd")
    768
    """
    _check_nesting(text, filename)
    try:
        data = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_repeats)
    except json.JSONDecodeError as err:
        raise SourceError(f"not valid JSON: {err.msg}", err.lineno, err.colno, text,
                          filename) from None
    except (ValueError, RecursionError) as err:  # a repeated key, NaN, a huge integer
        raise SourceError(f"not a config this can read: {err}", None, None, text,
                          filename) from None
    if not isinstance(data, dict):
        raise SourceError("a config file holds one JSON object ({...}), not a "
                          f"{type(data).__name__}", 1, 1, text, filename)
    return Config(data, text, filename, _top_level_keys(text))


@dataclass(frozen=True)
class Config:
    """A config's top-level values, the text they came from, and where each key is.
    ``defaults`` are the transformers config class's defaults for keys the file leaves
    out (``to_json_file`` leaves out a value equal to the base class's default)."""

    data: Mapping[str, Any]
    text: str
    filename: str
    places: Mapping[str, int]
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def with_defaults(self, defaults: Mapping[str, Any]) -> "Config":
        return Config(self.data, self.text, self.filename, self.places, defaults)

    def error(self, key: str | None, message: str) -> SourceError:
        """An error about ``key`` (its line, if the file has it)."""
        if key is not None and key in self.places:
            line, column = _line_column(self.text, self.places[key])
            return SourceError(message, line, column, self.text, self.filename)
        return SourceError(message, None, None, self.text, self.filename)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The file's value, else the class default, else ``default``; neither: an error."""
        if key in self.data:
            return self.data[key]
        if key in self.defaults:
            return self.defaults[key]
        if default is not _MISSING:
            return default
        raise self.error(None, f"the config has no {key!r}, which this model needs")

    def size(self, key: str, default: Any = _MISSING) -> int:
        """A positive whole number (a size, a count)."""
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(key, f"{key!r} must be a positive whole number, "
                                  f"not {json.dumps(value)[:60]}")
        if len(str(value)) > MAX_DIGITS:
            raise self.error(key, f"{key!r} has more than MAX_DIGITS = {MAX_DIGITS} digits")
        return value

    def optional_size(self, key: str) -> int | None:
        """A size, or None when the value is null or absent without a default."""
        return None if self.get(key, None) is None else self.size(key)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"{key!r} must be true or false, not "
                                  f"{json.dumps(value)[:60]}")
        return value

    def fraction(self, key: str, value: Any) -> Fraction:
        """A number in (0, 1] given under ``key`` (a JSON number, as written)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 < value <= 1:
            raise self.error(key, f"{key!r} must be a number in (0, 1], not "
                                  f"{json.dumps(value)[:60]}")
        return Fraction(repr(value))

    def word(self, key: str, allowed: Mapping[str, Any] | tuple[str, ...],
             default: Any = _MISSING) -> str:
        """A string among ``allowed``; another is refused, naming the ones supported."""
        value = self.get(key, default)
        if not isinstance(value, str) or value not in allowed:
            raise self.error(key, f"{key!r} is {json.dumps(value)[:60]}, which symparam "
                                  f"cannot write yet (supported: {', '.join(allowed)})")
        return value

    def refuse(self, key: str, allowed: tuple[Any, ...], why: str) -> None:
        """Refuse the file's ``key`` unless absent or one of ``allowed``."""
        value = self.data.get(key)
        if key in self.data and not any(type(value) is type(a) and value == a
                                         for a in allowed):
            raise self.error(key, f"{key!r} = {json.dumps(value)[:60]}: {why}")
