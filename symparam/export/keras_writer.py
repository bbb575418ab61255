"""An analyzed model as the source of a Keras 3 function ``build_NAME(symbols...)``
returning a functional ``keras.Model`` (text; keras is not imported). The per-kind
knowledge is in :mod:`symparam.export.keras`; this module lays out the function: one
line per layer, a Python loop per rolled repeat (its layers named ``NAME_i``), a layer
kept in a variable when another applies it again (``reuse``) or ties to its weight.
"""
from __future__ import annotations

import re

from ..errors import SourceError
from ..stats import ModelStats
from .base import Exported, LayerView, entry_for, header, signature
from .keras import ENTRIES, HELPERS
from .plan import Loop, Step, plan
from .pycode import Names, Printer

_IND = "    "
# The layers' own weight attributes a tie may name (Keras's names for them).
_ATTRIBUTE = {"kernel": "kernel", "embeddings": "embeddings", "bias": "bias"}


class _Writer:
    def __init__(self, stats: ModelStats):
        self.stats = stats
        self.names = Names(set(HELPERS))
        self.symbols, self.params = signature(stats, self.names)
        self.printer = Printer(self.symbols)
        self.helpers: set[str] = set()
        self.lines: list[str] = []
        self.var_of: dict[str, str] = {}
        self.where: dict[str, tuple[str, ...]] = {}
        self.held: dict[str, str] = {}  # layer -> the variable holding its Keras layer
        self.outputs = {layer.name: layer.output_shape for layer in stats.layers}
        self.used = {i for layer in stats.layers for i in layer.inputs} | {stats.output}
        self.owners = {owner for step in plan(stats).steps()
                       for owner in ([step.reuses] if step.reuses else [])
                       + [s.split("/", 1)[0] for _, s in step.ties]}

    def run(self, items, depth: int, env: dict, indexes: tuple[str, ...]) -> None:
        pad = _IND * depth
        for item in items:
            if isinstance(item, Loop):
                carry = self.names.fresh("hidden")
                index = self.names.fresh("i" if not indexes else "j")
                self.lines.append(f"{pad}{carry} = {env[item.entry]}")
                self.lines.append(f"{pad}for {index} in range({self.printer.int(item.count)}):")
                sub = dict(env)
                sub[item.entry] = carry
                self.run(item.items, depth + 1, sub, indexes + (index,))
                self.lines.append(f"{pad}{_IND}{carry} = {sub[item.exit]}")
                env[item.exit] = carry
                self.var_of.setdefault(item.exit, carry)
                continue
            self.step(item, pad, env, indexes)

    def step(self, item: Step, pad: str, env: dict, indexes: tuple[str, ...]) -> None:
        layer = item.layer
        var = self.names.name(layer.name)
        if layer.kind == "input":
            shape = self.printer.lit(tuple(layer.output_shape))
            dtype = ", dtype='int32'" if any(
                other.kind == "embedding" and other.inputs[:1] == (layer.name,)
                for other in self.stats.layers) else ""
            self.lines.append(f"{pad}{var} = keras.Input(shape={shape}{dtype}, "
                              f"name={var!r})")
            env[layer.name] = self.var_of[layer.name] = var
            return
        if layer.name not in self.used and not indexes:
            return  # no path leads from it: not part of a Keras model
        view = LayerView(layer, self.printer, self.stats.layout, "keras", self.outputs)
        code = entry_for(ENTRIES, view)
        try:
            xs = [env[i] for i in layer.inputs]
        except KeyError as err:
            raise SourceError(f"cannot export layer '{layer.name}': its input {err} is "
                              "not computed before it", layer.line) from None
        make: str | None
        if item.reuses:
            if item.reuses not in self.held:
                raise SourceError(f"cannot export the reuse of '{item.reuses}' to Keras: "
                                  "it is inside a repeat", layer.line, layer.column)
            make = self.held[item.reuses]
        elif item.ties:
            make = self.tied(item, view)
        else:
            self.helpers.update(code.helpers)
            make = code.make
        if make is not None and not item.reuses:
            name = repr(var) if not indexes else \
                "f" + repr(var + "".join(f"__{{{i}}}" for i in indexes))
            make = make[:-1] + ("" if make.endswith("()") else ", ") + f"name={name})"
            self.where[layer.name] = (var, str(len(indexes)))
            if layer.name in self.owners:
                if indexes:
                    raise SourceError(f"cannot export a weight shared with '{layer.name}' "
                                      "to Keras: it is inside a repeat", layer.line)
                held = self.names.fresh(var + "_layer")
                self.lines.append(f"{pad}{held} = {make}")
                self.held[layer.name] = make = held
        fields = {"m": make or "", "xs": ", ".join(xs),
                  **{("x" if i == 0 else f"x{i}"): x for i, x in enumerate(xs)}}
        call = "{m}({x})" if item.ties else code.call
        self.lines.append(f"{pad}{var} = {call.format(**fields)}")
        env[layer.name] = self.var_of[layer.name] = var

    def tied(self, item: Step, view: LayerView) -> str:
        layer = item.layer
        if layer.kind != "dense" or [w for w, _ in item.ties] != ["kernel"]:
            raise view.fail("Keras ties only a Dense layer's kernel (to an embedding "
                            "or another kernel)")
        source = item.ties[0][1]
        owner, weight = source.split("/", 1)
        if owner not in self.held or weight not in _ATTRIBUTE:
            raise view.fail(f"cannot tie to '{source}'")
        self.helpers.add("TiedDense")
        a = layer.args
        return (f"TiedDense({view.int('units')}, {self.held[owner]}.{_ATTRIBUTE[weight]}"
                + ("" if a["bias"] else ", use_bias=False")
                + (f", activation={a['activation']!r}" if a.get("activation") else "")
                + ")")


def write(stats: ModelStats, source: str = "") -> Exported:
    """The Python source of ``stats`` as a function building a Keras model."""
    w = _Writer(stats)
    plain = re.sub(r"[^A-Za-z0-9_]", "_", stats.name)
    builder = w.names.fresh("build_" + plain)
    w.run(plan(stats).items, 1, {}, ())
    inputs = [w.var_of[layer.name] for layer in stats.layers if layer.kind == "input"]
    body: list[str] = []
    for name in sorted(w.helpers):
        body += ["", "", HELPERS[name].strip("\n")]
    body += ["", "", f"def {builder}({w.params}):",
             f'{_IND}"""Builds the functional Keras model of {stats.name!r}."""']
    body += w.lines
    body.append(f"{_IND}return keras.Model(inputs=[{', '.join(inputs)}], "
                f"outputs={w.var_of[stats.output]}, name={plain!r})")
    out = header(stats, "keras", source) + ["import keras"]
    out += ["from keras import layers"] if "layers." in "\n".join(w.lines) else []
    out += body
    return Exported("\n".join(out) + "\n", builder, dict(w.var_of), dict(w.where))
