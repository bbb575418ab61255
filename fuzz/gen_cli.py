"""Values typed on the command line, and formulas read back: ``solve --where`` and
``--target``, ``--set``, ``sweep --grid`` and ``--metric``, ``explain --input``, and
:func:`symparam.render.read_formula`. Ordinary values, odd ones (huge, negative,
non-ASCII digits, empty) and Python code that sympy's parser would run.
"""
from __future__ import annotations

import random

from .cases import CLI, FORMULA, Case
from .gen_templates import CODE

MODEL = ("model gpt(d = 768, L = 12, V = 50257, H = 12, T = 1024):\n    input [T]\n"
         "    embedding V, d\n    repeat L:\n        residual:\n            layernorm\n"
         "            attention H, key_dim = d // H\n        residual:\n            layernorm\n"
         "            dense 4 * d, activation = gelu\n            dense d\n    dense V\n")
CONDITIONS = ("d % 128 == 0", "d % H == 0 and d >= 1024", "d > 1", "L < 5", "d != 1000",
              "d == d", "d >= 10 ** 100", "d % 0 == 0", "x == 1", "d === 1", "", "and",
              "d ==", "== d", "E == d", "I == d", "oo == d", "nan == d", "zoo == d",
              "pi < d", "d == " + "9" * 5000, "(" * 1000 + "d" + ")" * 1000 + " == 1",
              "d ** d ** d ** d == 1", "9 ** 9 ** 9 == d", "d.__class__ == 1",
              "Symbol('d') == 1", "d == 1\x00", "d == ١", "d\u2028== 1", "d % H == 0 and",
              "d < 1 and d > 2")
TARGETS = ("params=7e9", "params=1e6", "params=1e400", "params=" + "9" * 5000, "params=-1",
           "params=0", "params=abc", "params=1.5", "macs=1e9", "flops=1e12", "memory=80GB",
           "training=80GiB", "bogus=1", "params=7e9=1", "params=1,000", "params=١٠", "=",
           "params=1e99999999", "activations=1e9")
SETS = ("d=4", "d=0", "d=-1", "d=1e3", "d=" + "9" * 1001, "d=" + "9" * 999, "zz=3",
        "d=3,d=4", "d=٣", "d=1_0", "d=__", "d=0x10", "d=4\x00", "d= 4 ", "=4", "d=",
        "d=1,,L=2", "d=4,L=" + "9" * 400, "H=7", "H=0", "T=1", "d=1", "L=" + "1" * 20)
GRIDS = ("d=1..10", "d=1..1000000000", "d=256..8192:*2", "d=1..10:0", "d=1..10:-1",
         "d=1..10:*1", "d=1,2,3", "d=" + ",".join(["1"] * 10000), "d=1..10**100",
         "d=1e3..1e4:*2", "d=..", "d=a..b", "d=0", "d=-5..5", "L=1..1000000:*1",
         "d=1..2:/2", "zz=1..3", "d=" + "9" * 2000, "d=1..10:0.5", "d=2..1")
METRICS = ("params", "params,macs", "bogus", "", ",", "memory,activations,training",
           "flops", "macs," * 1000)
LAYERS = ("dense 4", "batchnorm", "groupnorm 2, epsilon = 0.01", "dense " + "9" * 5000,
          "lstm 3", "conv2d 2, 3", "softmax", "bogus", "", "dense 4, strdie = 2",
          "layernorm epsilon = 1e400", "dropout 0.5")
INPUTS = ("0,1;2,3", "1", "", ";", ",", "1e400", "nan", "inf,-inf", "0,1|2,3",
          ";".join(["1,2,3,4"] * 1000), "9" * 5000, "a,b", "1;2,3", "0x10", "١")


def _code(rng: random.Random) -> str:
    code = rng.choice(CODE)
    return rng.choice(("{c} == 1", "d == {c}", "{c}", "d % 2 == 0 and {c} == 0")).format(c=code)


def cli_case(rng: random.Random) -> Case:
    r = rng.random()
    if r < 0.3:
        text = _code(rng) if rng.random() < 0.5 else rng.choice(CONDITIONS)
        argv = ("solve", "{file}", "--for", rng.choice(("d", "L", "x")), "--target",
                rng.choice(TARGETS[:3]), "--where", "{text}")
        return Case("cli.where", CLI, text, source=MODEL, argv=argv)
    if r < 0.45:
        argv = ("solve", "{file}", "--for", "d", "--target", "{text}")
        return Case("cli.target", CLI, rng.choice(TARGETS), source=MODEL, argv=argv)
    if r < 0.6:
        command = rng.choice(("count", "summary", "derive", "memory"))
        return Case("cli.set", CLI, rng.choice(SETS), source=MODEL,
                    argv=(command, "{file}", "--set", "{text}"))
    if r < 0.72:
        return Case("cli.grid", CLI, rng.choice(GRIDS), source=MODEL,
                    argv=("sweep", "{file}", "--grid", "{text}", "--metric",
                          rng.choice(METRICS[:3])))
    if r < 0.77:
        return Case("cli.metric", CLI, rng.choice(METRICS), source=MODEL,
                    argv=("sweep", "{file}", "--grid", "d=64,128", "--metric", "{text}"))
    if r < 0.87:
        return Case("cli.explain", CLI, rng.choice(INPUTS),
                    argv=("explain", rng.choice(LAYERS), "--input", "{text}"))
    text = rng.choice(CODE) if rng.random() < 0.6 else rng.choice(
        ("h*(n + 1)", "floor(n/2)", "n**n**n**n", "9**9**9**9", "x" * 10000, "(" * 5000,
         "N + E + I + S + Q + O", "lambda: 1", "h*(n + 1", ""))
    return Case("formula", FORMULA, text)
