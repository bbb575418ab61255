"""What one fuzz input is, and which generator makes input number ``i`` of a run.

Input ``i`` of seed ``S`` comes from its own ``random.Random(f"{S}:{i}")``, so a run is
reproducible from its seed whatever the number of workers, and one input can be
made again alone (``--only i``).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace

# Kinds of input, by the path through symparam they take.
SOURCE = "source"      # model text through symparam.analyze and the renderers
TEMPLATE = "template"  # a user template (text) rendered against a fixed model (source)
CLI = "cli"            # command-line arguments (argv, "{text}" and "{file}" filled in)
FORMULA = "formula"    # text through symparam.render.read_formula


@dataclass(frozen=True)
class Case:
    """One input. ``text`` is what was fuzzed (and what shrinking shortens).

    ``expect_line``: a mutation that put a character no token may contain at that line
    (outside strings and comments) of a valid model; an error must then be reported at
    that line or an earlier one (see :mod:`fuzz.classify`).
    """

    gen: str
    kind: str
    text: str
    source: str = ""              # the model for TEMPLATE and CLI inputs
    name: str = "t.md.j2"         # the template's file name (its suffix picks delimiters)
    argv: tuple = ()              # for CLI: symparam's arguments
    convention: str | None = None
    values: tuple = ()            # (symbol, value) pairs for analyze(values=...)
    expect_line: int = 0
    note: str = ""
    render: bool = False          # also render a derivation (slower; a share of inputs)
    extra: dict = field(default_factory=dict, compare=False)

    def with_text(self, text: str) -> "Case":
        return replace(self, text=text)


def make_case(seed: int, i: int) -> Case:
    """Input number ``i`` of the run with ``seed``."""
    from . import gen_cli, gen_mutations, gen_programs, gen_raw, gen_templates

    rng = random.Random(f"{seed}:{i}")
    pick = rng.random()
    # Shares: programs 30%, mutations 42%, raw and pathological 4% (where most hangs
    # are: each costs the whole time limit), templates 14%, command-line values and
    # formulas 10%.
    if pick < 0.30:
        case = gen_programs.program_case(rng)
    elif pick < 0.72:
        case = gen_mutations.mutation_case(rng)
    elif pick < 0.76:
        case = gen_raw.raw_case(rng)
    elif pick < 0.90:
        case = gen_templates.template_case(rng)
    else:
        case = gen_cli.cli_case(rng)
    if case.kind == SOURCE and rng.random() < 0.25:
        case = replace(case, render=True)
    if case.kind == SOURCE and rng.random() < 0.1:
        case = replace(case, values=_values(rng, case.text))
    return case


VALUES = (1, 2, 3, 7, 64, 10**6, 10**300, 10**1000, 0, -1, "12", "abc", " 5 ", 3.5, True, None)


def _values(rng: random.Random, text: str) -> tuple:
    """Values for some of the symbols of the text's first model (and a stranger)."""
    m = re.search(r"model\s+\w+\s*\(([^)]*)\)", text)
    names = re.findall(r"([A-Za-z_]\w*)\s*(?:=[^,]*)?(?:,|$)", m.group(1)) if m else []
    picked = rng.sample(names, min(len(names), rng.randint(1, 3))) if names else []
    if rng.random() < 0.1:
        picked.append(rng.choice(("zz", "n", "__class__")))
    return tuple((name, rng.choice(VALUES)) for name in picked)
