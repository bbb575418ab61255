"""Grammar-aware random programs: models, blocks, repeats, residuals, branches, every
layer kind in symparam's registry with random arguments (symbols, big numbers,
floats, strings, words, lists, nested expressions), in both conventions.

Most arguments are plausible for their kind (so that programs get past the parser
and into the analysis and the renderers); some are wild. Half of the programs come
from this module, half from the differential tests' generator of valid models
(``tests/oracle/generate.py``), here used only as text.
"""
from __future__ import annotations

import random
import sys
from functools import lru_cache
from pathlib import Path

from .cases import SOURCE, Case

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("same", "valid", "causal", "relu", "none", "channels_first", "channels_last",
         "nearest", "bilinear", "concat", "sum", "mul", "ave", "true", "false", "x")
FUNCTIONS = ("floor", "ceil", "min", "max", "abs", "sqrt", "log", "exp", "eval", "foo")
BIG = ("10" * 30, "9" * 999, "9" * 1001, "1" + "0" * 5000, "1e400", "1e-400", "0.0000001",
       "123456789012345678901234567890.5", "1e99999999")


@lru_cache(maxsize=1)
def _kinds() -> tuple:
    """(name, kind) for every name in the registry, sorted (for reproducibility)."""
    from symparam.layers.base import REGISTRY
    return tuple(sorted(REGISTRY.items()))


def number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return str(rng.choice((1, 2, 3, 4, 8, 16, 32, 64, 7, 5)))
    if r < 0.75:
        return str(rng.choice((0, 1, 1000, 65536, 2**31, 2**64, 10**12)))
    if r < 0.85:
        return rng.choice(("0.5", "1e-3", "2.0", ".5", "1.", "3e2", "0.999", "1E+2"))
    return rng.choice(BIG)


def expr(rng: random.Random, names: list, depth: int = 0) -> str:
    """A random expression: numbers, names, words, strings, lists, operators, calls."""
    r = rng.random()
    if depth > 3 or r < 0.35:
        return number(rng) if rng.random() < 0.5 or not names else rng.choice(names)
    if r < 0.42:
        return rng.choice(WORDS)
    if r < 0.46:
        return rng.choice(('"same"', '"x y"', '"\\n"', '""', '"\\"q\\""', '"é"'))
    if r < 0.55:
        return "[" + ", ".join(expr(rng, names, depth + 1)
                               for _ in range(rng.randint(0, 3))) + "]"
    if r < 0.85:
        op = rng.choice(("+", "-", "*", "/", "//", "%", "**", "*", "+"))
        left, right = expr(rng, names, depth + 1), expr(rng, names, depth + 1)
        text = f"{left} {op} {right}"
        return f"({text})" if rng.random() < 0.5 else text
    if r < 0.92:
        args = ", ".join(expr(rng, names, depth + 1) for _ in range(rng.randint(0, 3)))
        return f"{rng.choice(FUNCTIONS)}({args})"
    return "-" + expr(rng, names, depth + 1)


def plausible(rng: random.Random, spec, names: list) -> str:
    """A value that suits the argument's converter, most of the time."""
    conv = getattr(spec.convert, "__name__", "") + " " + (spec.convert.__doc__ or "")
    if rng.random() < 0.12:
        return expr(rng, names)
    if "boolean" in conv:
        return rng.choice(("true", "false"))
    if "activation" in conv:
        return rng.choice(("relu", "gelu", "softmax", "none", "linear", "tanh"))
    if "|" in conv:  # a choice: its options are the docstring
        return rng.choice([o.strip() for o in spec.convert.__doc__.split("|")])
    if "rate" in conv:
        return rng.choice(("0.1", "0.5", "0", "0.99"))
    if spec.name in ("axis", "index"):
        return rng.choice(("-1", "1", "2", "0", "-2", "[1, 2]"))
    if spec.name in ("padding",):
        return rng.choice(("same", "valid", "1", "0", "[1, 1]", "causal", "2"))
    if spec.name in ("shape", "dims"):
        return "[" + ", ".join(rng.choice(("-1", "2", "1", "3")) for _ in range(rng.randint(1, 3))) + "]"
    if rng.random() < 0.3 and names:
        sym = rng.choice(names)
        return rng.choice((sym, f"2 * {sym}", f"{sym} // 2", f"{sym} + 1", f"{sym} - 1"))
    small = rng.choice(("1", "2", "3", "4", "8", "16"))
    return f"[{small}, {small}]" if rng.random() < 0.1 else small


def layer_line(rng: random.Random, names: list, tensors: list, layer_names: list) -> str:
    name, kind = rng.choice(_kinds())
    parts: list[str] = []
    if kind.inputs == "many":
        parts = [rng.choice(tensors) if tensors and rng.random() < 0.9 else "nowhere"
                 for _ in range(rng.randint(1, 2))]
    from symparam.layers.base import REQUIRED
    required = [a for a in kind.args if a.default is REQUIRED]
    positional = True
    for spec in kind.args:
        must = spec in required
        if not must and rng.random() < 0.7:
            continue
        value = (rng.choice(tensors) if spec.tensor and tensors
                 else plausible(rng, spec, names))
        if must and positional and spec.positional and rng.random() < 0.8:
            parts.append(value)
        else:
            positional = False
            key = rng.choice((spec.name,) + tuple(spec.aliases)) if spec.aliases else spec.name
            parts.append(f"{key} = {value}")
    if rng.random() < 0.05:
        parts.append(f"{rng.choice(('strdie', 'tie', 'bogus'))} = {expr(rng, names)}")
    line = name + (" " + ", ".join(parts) if parts else "")
    if rng.random() < 0.25:
        new = f"l{len(layer_names)}"
        layer_names.append(new)
        tensors.append(new)
        line += f" as {new}"
    return line


def body(rng, names, tensors, layer_names, blocks, depth: int, indent: str) -> list:
    lines: list[str] = []
    for _ in range(rng.randint(1, 5 if depth else 8)):
        r = rng.random()
        if depth < 3 and r < 0.08:
            count = rng.choice(("2", "3", rng.choice(names) if names else "2", "1000000000",
                                "0", "10001", "n", "2 ** 40"))
            var = f" as i{depth}" if rng.random() < 0.4 else ""
            lines.append(f"{indent}repeat {count}{var}:")
            inner = names + ([f"i{depth}"] if var else [])
            lines += body(rng, inner, tensors, layer_names, blocks, depth + 1, indent + "    ")
        elif depth < 3 and r < 0.15:
            lines.append(f"{indent}residual:")
            lines += body(rng, names, tensors, layer_names, blocks, depth + 1, indent + "    ")
            if rng.random() < 0.4:
                lines.append(f"{indent}shortcut:")
                lines += body(rng, names, tensors, layer_names, blocks, depth + 1,
                              indent + "    ")
        elif depth < 3 and r < 0.2:
            merge = rng.choice(("concat", "add", "multiply", "average", "maximum", "minimum",
                                "subtract", "dense"))
            lines.append(f"{indent}branches {merge}:")
            for _ in range(rng.randint(1, 3)):
                lines.append(f"{indent}    branch:")
                lines += body(rng, names, tensors, layer_names, blocks, depth + 2,
                              indent + "        ")
        elif depth < 3 and r < 0.23:
            count = rng.choice(("2", "8", "0", rng.choice(names) if names else "4"))
            top_k = rng.choice(("1", "2", "9", count, rng.choice(names) if names else "1"))
            options = rng.choice(("", ", shared = 1", ", shared = 0", ", shared_gate = true",
                                  ", score_bias = true, scoring = sigmoid", ", shared = 2"))
            lines.append(f"{indent}moe {count}, top_k = {top_k}{options}:")
            lines += body(rng, names, tensors, layer_names, blocks, depth + 1, indent + "    ")
            if rng.random() < 0.4:
                lines.append(f"{indent}shared:")
                lines += body(rng, names, tensors, layer_names, blocks, depth + 1,
                              indent + "    ")
        elif r < 0.25:
            let = f"v{len(names)}"
            lines.append(f"{indent}let {let} = {expr(rng, names)}")
            names = names + [let]
        elif r < 0.29 and tensors:
            lines.append(f"{indent}from {rng.choice(tensors)}")
        elif r < 0.32 and layer_names:
            lines.append(f"{indent}reuse {rng.choice(layer_names)}")
        elif r < 0.37 and blocks:
            block, arity = rng.choice(blocks)
            args = ", ".join(plausible_dim(rng, names) for _ in range(arity))
            lines.append(f"{indent}{block} {args}".rstrip())
        elif r < 0.40:
            lines.append(f"{indent}input [{', '.join(plausible_dim(rng, names) for _ in range(rng.randint(0, 3)))}]"
                         + (f" as t{len(tensors)}" if rng.random() < 0.5 else ""))
            if lines[-1].endswith(f"t{len(tensors)}"):
                tensors.append(f"t{len(tensors)}")
        else:
            lines.append(indent + layer_line(rng, names, tensors, layer_names))
    return lines


def plausible_dim(rng: random.Random, names: list) -> str:
    if names and rng.random() < 0.6:
        return rng.choice(names)
    return rng.choice(("3", "8", "16", "32", "1", expr(rng, names)))


def own_program(rng: random.Random) -> str:
    lines: list[str] = []
    r = rng.random()
    if r < 0.35:
        lines.append("convention torch")
    elif r < 0.55:
        lines.append("convention keras")
    elif r < 0.57:
        lines.append("convention " + rng.choice(("tf", "jax", "keras keras")))
    blocks: list = []
    for b in range(rng.choice((0, 0, 1, 2))):
        params = [f"p{j}" for j in range(rng.randint(0, 3))]
        lines.append(f"block blk{b}({', '.join(params)}):")
        lines += body(rng, params, [], [], list(blocks), 1, "    ")
        blocks.append((f"blk{b}", len(params)))
    symbols = ["n", "d", "H", "W", "C", "L"][:rng.randint(0, 6)]
    params = []
    for s in symbols:
        default = rng.random()
        params.append(s if default < 0.15 else f"{s} = {number(rng) if default < 0.3 else rng.choice(('32', '64', '3', '16', '8'))}")
    lines.append(f"model m({', '.join(params)}):")
    if rng.random() < 0.2:
        lines.append("    layout " + rng.choice(("channels_first", "channels_last", "nchw")))
    rank = rng.randint(1, 4)
    dims = [rng.choice(symbols) if symbols and rng.random() < 0.7 else rng.choice(("8", "16", "3"))
            for _ in range(rank)]
    lines.append(f"    input [{', '.join(dims)}] as t0")
    lines += body(rng, list(symbols), ["t0"], [], blocks, 0, "    ")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _oracle_generate():
    """The differential tests' generator of valid models, or None without tests/."""
    folder = ROOT / "tests"
    if not (folder / "oracle" / "generate.py").exists():
        return None
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        from oracle.generate import generate
    except Exception:  # pragma: no cover - a broken checkout: use our own only
        return None
    return generate


def oracle_program(rng: random.Random) -> str | None:
    generate = _oracle_generate()
    if generate is None:
        return None
    return generate(rng.randrange(10**9), rng.choice(("keras", "torch")))


def program_case(rng: random.Random) -> Case:
    text = oracle_program(rng) if rng.random() < 0.4 else None
    gen = "program.oracle"
    if text is None:
        text, gen = own_program(rng), "program.random"
    convention = rng.choice((None, None, "keras", "torch"))
    return Case(gen, SOURCE, text, convention=convention)
