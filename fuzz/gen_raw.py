"""Raw bytes and pathological texts: token salad, random bytes (invalid UTF-8 goes
through a file, as a user's would), very long lines, 10,000-deep brackets, ``**``
towers, huge repeat counts, deep indentation, huge models and numbers.
"""
from __future__ import annotations

import random

from .cases import CLI, SOURCE, Case
from .gen_mutations import ODD, TOKENS

HEAD = "model m(n = 4, d = 8, H = 16, W = 16, C = 3):\n    input [n]\n"
IMAGE = "model m(H = 16, W = 16, C = 3):\n    input [H, W, C]\n"


def _salad(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 200)):
        r = rng.random()
        if r < 0.5:
            parts.append(rng.choice(TOKENS))
        elif r < 0.7:
            parts.append(rng.choice(("m", "n", "dense", "conv2d", "x", "d", "2", "0.5", "1e9")))
        elif r < 0.85:
            parts.append("\n" + " " * rng.choice((0, 4, 8, 2, 1)))
        else:
            parts.append(rng.choice(ODD))
    return " ".join(parts)


def _pathological(rng: random.Random) -> tuple[str, str]:
    n = rng.choice((100, 1000, 10_000, 100_000))
    k = rng.randrange(24)
    if k == 0:
        return HEAD + "    dense " + "n + " * n + "1\n", f"a sum of {n} terms"
    if k == 1:
        return HEAD + "    dense " + "(" * n + "n" + ")" * n + "\n", f"{n}-deep parentheses"
    if k == 2:
        return HEAD + "    reshape " + "[" * n + "n" + "]" * n + "\n", f"{n}-deep lists"
    if k == 3:
        return HEAD + "    dense " + "(" * n + "\n", f"{n} unclosed parentheses"
    if k == 4:
        return HEAD + "    dense " + "-" * n + "n\n", f"{n} minus signs"
    if k == 5:
        depth = rng.choice((3, 4, 5, 10, 100, 1000))
        base = rng.choice(("2", "9", "n", "d", "1", "0"))
        return HEAD + "    dense " + " ** ".join([base] * depth) + "\n", f"** tower of {depth}"
    if k == 6:
        count = rng.choice(("10 ** 100", "10001", "2 ** 64", "1" + "0" * 999, "n ** n ** n"))
        body = rng.choice(("dense 2 * i + 1", "dense n", "conv2d 2, 1", "dense 3\n        dense 4"))
        var = " as i" if "i" in body else ""
        return (HEAD + f"    repeat {count}{var}:\n        {body}\n", f"repeat {count}: {body}")
    if k == 7:
        depth = rng.choice((50, 200, 1000))
        lines = [HEAD.rstrip("\n")]
        for j in range(depth):
            lines.append("    " * (j + 1) + "residual:")
        lines.append("    " * (depth + 1) + "dense n")
        return "\n".join(lines) + "\n", f"{depth} nested residuals"
    if k == 8:
        depth = rng.choice((20, 100, 500))
        lines = [HEAD.rstrip("\n")] + ["    " * (j + 1) + "repeat 2:" for j in range(depth)]
        lines.append("    " * (depth + 1) + "dense n")
        return "\n".join(lines) + "\n", f"{depth} nested repeats of 2"
    if k == 9:
        layers = rng.choice((1000, 5000, 20_000))
        return HEAD + "    dense 8\n" * layers, f"{layers} layers"
    if k == 10:
        digits = rng.choice((999, 1000, 1001, 4300, 4301, 100_000))
        return HEAD + f"    dense {'9' * digits}\n", f"a {digits}-digit number"
    if k == 11:
        symbols = rng.choice((100, 2000, 20_000))
        return ("model m(" + ", ".join(f"s{j} = {j + 1}" for j in range(symbols)) +
                "):\n    input [s0]\n    dense s1\n", f"{symbols} symbols")
    if k == 12:
        size = rng.choice((10_000, 1_000_000))
        return HEAD + "    # " + "x" * size + "\n    dense n\n", f"a {size}-character comment"
    if k == 13:
        size = rng.choice((10_000, 1_000_000))
        return HEAD + "    dense n as " + "a" * size + "\n", f"a {size}-character name"
    if k == 14:
        return HEAD + '    activation "' + "\\" * n + '"\n', f"a string of {n} backslashes"
    if k == 15:
        return rng.choice(("", "\n", " ", "\t\n", "#", "model", "model m():", "model m():\n",
                           "\x00", "\ufeff", "\r", "\r\n", "model m():\n    input []\n",
                           "\\", "\\\n", "(\n", "[", "model m(" * 1000)), "a tiny text"
    if k == 16:
        return IMAGE + "    maxpool2d 3, stride = 2, ceil_mode = true\n" * rng.choice((1, 5, 30)), \
            "ceil_mode poolings"
    if k == 17:
        return (IMAGE.replace("16", rng.choice(("16", "1" + "0" * 500, "2 ** 64"))) +
                "    conv2d 8, 3, stride = 2, padding = same\n" * rng.choice((3, 30, 300)),
                "strided convolutions")
    if k == 18:
        return "model m(n = " + "n" * 3 + "):\n    input [n]\n", "a default refers to itself"
    if k == 19:
        expr = "1"
        for _ in range(rng.choice((10, 50, 200))):
            expr = f"floor(({expr}) / 2 + n)"
        return HEAD + f"    dense {expr}\n", "nested floors"
    if k == 20:
        return HEAD + "    dense min(" + ", ".join(["n"] * n) + ")\n", f"min of {n}"
    if k == 21:
        return HEAD + "    input [" + ", ".join(["2"] * rng.choice((100, 1000))) + "]\n    flatten\n", "rank 1000"
    if k == 22:
        text = HEAD + "    dense n\n"
        return text.replace("\n", rng.choice(("\r\n", "\r", "\u2028", "\x85", "\x0c\n"))), "line ends"
    return "\n".join("block b%d():\n    b%d" % (j, j + 1) for j in range(rng.choice((100, 2000)))) \
        + "\nmodel m(n=1):\n    input [n]\n    b0\n", "a long chain of blocks"


def raw_case(rng: random.Random) -> Case:
    r = rng.random()
    if r < 0.3:
        return Case("raw.salad", SOURCE, _salad(rng))
    if r < 0.45:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        if rng.random() < 0.5:  # invalid UTF-8 inside a valid model
            data = HEAD.encode() + b"    dense " + data + b"\n"
        text = data.decode("utf-8", errors="surrogateescape")
        command = rng.choice(("count", "summary", "derive"))
        return Case("raw.bytes", CLI, text, argv=(command, "{textfile}"))
    text, note = _pathological(rng)
    return Case("raw.pathological", SOURCE, text, note=note)
