"""The one syntax for numbers given on the command line (``--set``, ``--grid``,
``--target``, ``--batch``...): a whole number written as ``4096``, ``4_096``, ``1e3``,
``1.5e3``, ``2**24``, ``7B``, ``1.3B``, ``80GB`` or ``80GiB``.

Commas never belong to a number: they separate values (``--set n=1,h=2``,
``--grid d=256,512``). The size of a number is estimated from its text before it is
built, so ``10**10**10`` or ``1e99999999`` is refused at once (``MAX_DIGITS``).

>>> [read_number(t) for t in ("4_096", "1e3", "2**10", "1.3B", "80GiB")]
[4096, 1000, 1024, 1300000000, 85899345920]
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import UsageError
from .limits import MAX_DIGITS
from .values import cut

SUFFIXES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9,
            "T": 10**12, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
            "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_DECIMAL = re.compile(r"(\d[\d_]*(?:\.[\d_]*)?)(?:[eE]\+?(\d+))?\s*([A-Za-z]*)$")
_POWER = re.compile(r"(\d[\d_]*)\s*\*\*\s*(\d[\d_]*)$")
EXAMPLES = "4096, 4_096, 1e3, 2**24, 1.3B, 80GiB"


def _too_long(text: str) -> UsageError:
    return UsageError(f"'{cut(text)}' has more than {MAX_DIGITS:,} digits (MAX_DIGITS)")


def read_number(text: str, what: str = "a number") -> int:
    """The whole number ``text`` writes (see the module docstring); a
    :class:`UsageError` naming the text otherwise. ``what`` names what was expected
    in that error ("a number", "a positive whole number")."""
    t = text.strip()
    power = _POWER.match(t)
    if power:
        base, exp = (int(g.replace("_", "")) if len(g) <= MAX_DIGITS else None
                     for g in power.groups())
        if base is None or exp is None:
            raise _too_long(t)
        # base ** exp has about exp * log10(base) digits: checked before it is computed
        if base > 1 and exp * math.log10(base) > MAX_DIGITS + 1:
            raise _too_long(t)
        value = base ** exp
        if len(str(value)) > MAX_DIGITS:
            raise _too_long(t)
        return value
    m = _DECIMAL.match(t)
    if not m or m.group(3) not in SUFFIXES:
        raise UsageError(f"'{cut(t)}' is not {what} (examples: {EXAMPLES})")
    mantissa, exponent, suffix = m.group(1).replace("_", ""), m.group(2) or "0", m.group(3)
    if len(exponent) > 7 or len(mantissa) + int(exponent) > MAX_DIGITS:
        raise _too_long(t)
    value = Fraction(mantissa) * 10 ** int(exponent) * SUFFIXES[suffix]
    if value.denominator != 1:
        raise UsageError(f"'{cut(t)}' is not "
                         + ("a whole number" if what == "a number" else what))
    return int(value)


_SET = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$")


def parse_sets(items) -> dict[str, int]:
    """``--set`` values by symbol name; a comma separates settings; values in the one
    number syntax above.

    >>> parse_sets(("n=4_096", "h=512,k=80", "d=2**12", "T=1e3"))
    {'n': 4096, 'h': 512, 'k': 80, 'd': 4096, 'T': 1000}
    """
    values: dict[str, int] = {}
    for item in items:
        for part in item.split(","):
            m = _SET.match(part)
            if not m:
                raise UsageError(f"--set '{part.strip()}': write SYMBOL=VALUE with a positive "
                                 f"whole number, e.g. --set n=4096")
            name = m.group(1)
            try:
                value = read_number(m.group(2), "a positive whole number")
            except UsageError as err:
                raise UsageError(f"--set {name}: {err}") from None
            if value < 1:
                raise UsageError(f"--set '{part.strip()}': {name} must be a positive whole "
                                 f"number (symbols are sizes)")
            if name in values and values[name] != value:
                raise UsageError(f"--set gives {name} twice ({values[name]} and {value})")
            values[name] = value
    return values
