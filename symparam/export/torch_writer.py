"""An analyzed model as the source of a PyTorch ``nn.Module`` (text; torch is not
imported). The per-kind knowledge is in :mod:`symparam.export.torch`; this module
lays out the class: the constructor (symbols as arguments, one line per layer, a
``nn.ModuleList`` per rolled repeat, shared weights assigned), and ``forward``.
"""
from __future__ import annotations

import re

from ..errors import SourceError
from ..stats import ModelStats
from .base import Code, Exported, LayerView, entry_for, header, signature
from .plan import Loop, Step, plan
from .pycode import Names, Printer
from .torch import ENTRIES
from .torch_helpers import HELPERS

# What nn.Module, nn.ModuleDict and nn.ModuleList already mean: a layer never takes
# one of these names (tests/test_export.py checks the list against torch's).
MODULE_ATTRIBUTES = frozenset({
    "smart_apply",  # added to nn.Module by Hugging Face transformers when imported
    "T_destination", "add_module", "append", "apply", "bfloat16", "buffers",
    "call_super_init", "children", "clear", "compile", "cpu", "cuda", "double",
    "dump_patches", "eval", "extend", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "insert", "ipu", "items",
    "keys", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "pop", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "update",
    "values", "xpu", "zero_grad"})

_WEIGHT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_IND = "    "


def class_name(name: str) -> str:
    """``gpt2_untied`` -> ``Gpt2Untied`` (letters and digits only)."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return out if out[0].isalpha() else "Model" + out


class _Writer:
    def __init__(self, stats: ModelStats):
        self.stats = stats
        reserved = MODULE_ATTRIBUTES | set(HELPERS)
        self.attrs = Names(reserved)      # module attributes and dict keys
        self.locals = Names(reserved)     # forward's variables
        self.symbols, self.params = signature(stats, Names(reserved))
        self.printer = Printer(self.symbols)
        self.helpers: set[str] = set()
        self.init: list[str] = []
        self.ties: list[str] = []
        self.forward: list[str] = []
        self.refs: dict[str, tuple[str, str]] = {}   # layer -> (module ref, holder)
        self.var_of: dict[str, str] = {}             # layer -> forward's variable
        # layer -> where its module is: an attribute, then a key in each pass
        self.where: dict[str, tuple[str, ...]] = {}
        layers = stats.layers
        self.outputs = {layer.name: layer.output_shape for layer in stats.layers}
        self.used = {i for layer in layers for i in layer.inputs} | {stats.output}

    def code(self, step: Step) -> Code:
        view = LayerView(step.layer, self.printer, self.stats.layout, "torch",
                         self.outputs)
        code = entry_for(ENTRIES, view)
        self.helpers.update(code.helpers)
        return code

    # -- the constructor --------------------------------------------------------

    def key(self, layer, loop: Loop | None) -> str:
        """A layer's key in its pass's ModuleDict: its name, less the block's."""
        prefix = self.loop_name(loop) + "/" if loop is not None else ""
        name = layer.name[len(prefix):] if layer.name.startswith(prefix) else layer.name
        return self.attrs.name(layer.name, hint=name)

    def module_dict(self, items, depth: int, loop: Loop, path: tuple) -> list[str]:
        pad = _IND * depth
        out = [f"{pad}nn.ModuleDict({{"]
        for item in items:
            if isinstance(item, Loop):
                key = self.loop_attr(item)
                out.append(f"{pad}{_IND}{key!r}: nn.ModuleList(")
                out += self.module_dict(item.items, depth + 2, item, path + (key,))
                out.append(f"{pad}{_IND}{_IND}for _ in range({self.printer.int(item.count)})")
                out.append(f"{pad}{_IND}),")
                continue
            if step_is_input(item):
                continue
            if item.reuses or item.ties:
                raise SourceError("cannot export a shared weight inside a repeat over a "
                                  f"symbol to PyTorch yet (layer '{item.layer.name}')",
                                  item.layer.line, item.layer.column)
            code = self.code(item)
            if code.make is not None:
                self.where[item.layer.name] = path + (self.key(item.layer, loop),)
                out.append(f"{pad}{_IND}{self.key(item.layer, loop)!r}: {code.make},")
        out.append(f"{pad}}})")
        return out

    def loop_attr(self, loop: Loop) -> str:
        """The attribute (or key) of a loop's ModuleList: its block's name if it
        repeats one block, else ``repeat``; one per loop."""
        first = next(loop.steps()).layer
        return self.attrs.name(f"{loop.label} from {first.name}", hint=self.loop_name(loop))

    def loop_name(self, loop: Loop) -> str:
        first = next(loop.steps()).layer
        index = first.path.index(loop.label) if loop.label in first.path else -1
        after = first.path[index + 1:index + 2] if index >= 0 else ()
        return after[0] if after and not after[0].startswith("repeat") else "repeat"

    def construct(self, items) -> None:
        for item in items:
            if isinstance(item, Loop):
                attr = self.loop_attr(item)
                self.init.append(f"self.{attr} = nn.ModuleList(")
                self.init += self.module_dict(item.items, 1, item, (attr,))
                self.init.append(f"{_IND}for _ in range({self.printer.int(item.count)})")
                self.init.append(")")
                continue
            layer = item.layer
            if step_is_input(item):
                continue
            if item.reuses:
                if item.reuses not in self.refs:
                    raise SourceError(f"cannot export the reuse of '{item.reuses}' to "
                                      "PyTorch: it is inside a repeat over a symbol",
                                      layer.line, layer.column)
                continue
            code = self.code(item)
            if code.make is None:
                continue
            attr = self.attrs.name(layer.name)
            self.refs[layer.name] = (f"self.{attr}", code.holder)
            self.where[layer.name] = (attr,)
            self.init.append(f"self.{attr} = {code.make}")
            for weight, source in item.ties:
                self.tie(item, attr, code.holder, weight, source)

    def tie(self, item: Step, attr: str, holder: str, weight: str, source: str) -> None:
        layer = item.layer
        owner, owner_weight = source.split("/", 1) if "/" in source else (source, "")
        shapes = {w.name: w.shape for w in layer.weights}
        owned = {w.name: w.shape for lay in self.stats.layers if lay.name == owner
                 for w in lay.weights}
        if owner not in self.refs or not _WEIGHT.match(weight) \
                or not _WEIGHT.match(owner_weight):
            raise SourceError(f"cannot export the weight '{weight}' that layer "
                              f"'{layer.name}' shares with '{source}' to PyTorch",
                              layer.line, layer.column)
        if tuple(shapes.get(weight, ())) != tuple(owned.get(owner_weight, ())):
            raise SourceError(f"cannot export the tie of '{layer.name}' to '{owner}': "
                              "PyTorch shares a parameter between tensors of the same shape "
                              "only", layer.line, layer.column)
        ref, owner_holder = self.refs[owner]
        self.ties.append(f"self.{attr}{holder}.{weight} = {ref}{owner_holder}.{owner_weight}")

    # -- forward -------------------------------------------------------------------

    def run(self, items, depth: int, env: dict, holder: str,
            loop: Loop | None = None) -> None:
        pad = _IND * depth
        for item in items:
            if isinstance(item, Loop):
                key = self.loop_attr(item)
                ref = f"self.{key}" if not holder else f"{holder}[{key!r}]"
                carry = self.locals.fresh("hidden")
                block = self.locals.fresh("block")
                sub = dict(env)
                self.forward.append(f"{pad}{carry} = {env[item.entry]}")
                self.forward.append(f"{pad}for {block} in {ref}:")
                sub[item.entry] = carry
                self.run(item.items, depth + 1, sub, block, item)
                self.forward.append(f"{pad}{_IND}{carry} = {sub[item.exit]}")
                env[item.exit] = carry
                self.var_of.setdefault(item.exit, carry)
                continue
            layer = item.layer
            if step_is_input(item):
                continue
            if layer.name not in self.used and not holder:
                continue  # no path leads from it: PyTorch still registers its module
            code = self.code(item)
            if item.reuses:
                ref = self.refs[item.reuses][0]
            elif code.make is None:
                ref = ""
            elif holder:
                ref = f"{holder}[{self.key(layer, loop)!r}]"
            else:
                ref = self.refs[layer.name][0]
            try:
                xs = [env[i] for i in layer.inputs]
            except KeyError as err:
                raise SourceError(f"cannot export layer '{layer.name}': its input "
                                  f"{err} is not computed before it", layer.line) from None
            fields = {"m": ref, "xs": ", ".join(xs),
                      **{("x" if i == 0 else f"x{i}"): x for i, x in enumerate(xs)}}
            var = self.locals.name(layer.name)
            self.forward.append(f"{pad}{var} = {code.call.format(**fields)}")
            env[layer.name] = var
            self.var_of[layer.name] = var


def step_is_input(item) -> bool:
    return isinstance(item, Step) and item.layer.kind == "input"


def write(stats: ModelStats, source: str = "") -> Exported:
    """The Python source of ``stats`` as an ``nn.Module`` subclass."""
    w = _Writer(stats)
    items = plan(stats).items
    w.construct(items)
    inputs = [layer for layer in stats.layers if layer.kind == "input"]
    env = {layer.name: w.locals.name(layer.name) for layer in inputs}
    w.var_of.update(env)
    args = ", ".join(env.values())
    w.run(items, 2, env, "")
    body: list[str] = []
    for name in sorted(w.helpers):
        body += ["", "", HELPERS[name].strip("\n")]
    cls = class_name(stats.name)
    body += ["", "", f"class {cls}(nn.Module):",
             f'{_IND}"""The model {cls}: one attribute per layer with weights."""', "",
             f"{_IND}def __init__(self{', ' if w.params else ''}{w.params}):",
             f"{_IND * 2}super().__init__()"]
    body += [f"{_IND * 2}{line}" for line in w.init + w.ties]
    body += ["", f"{_IND}def forward(self, {args}):"]
    body += w.forward
    body.append(f"{_IND * 2}return {w.var_of.get(stats.output, 'None')}")
    used = "\n".join(body)
    out = header(stats, "torch", source)
    out += ["import torch"] if "torch." in used else []
    out += ["from torch import nn"]
    out += ["from torch.nn import functional as F"] if "F." in used else []
    out += body
    text = "\n".join(out) + "\n"
    return Exported(_tidy(text), cls, dict(w.var_of), dict(w.where))


def _tidy(text: str) -> str:
    """At most two blank lines in a row (pycodestyle's rule)."""
    return re.sub(r"\n{4,}", "\n\n\n", text)
