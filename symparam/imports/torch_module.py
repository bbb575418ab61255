"""Bringing a PyTorch model in: ``symparam import --from torch MODULE:NAME`` imports
the user's module and calls ``NAME`` (a class or a function building the model): the
user's own code runs, which is the point, so use it only on code you trust. The model
is built on the meta device (no memory, no weights), traced with ``torch.fx``, and
each module and operation becomes one statement of the language, in order, every
tensor named after its ``fx`` node; a module or operation symparam cannot write is
refused, all of them named in one message.

torch is imported only when this runs. Otherwise this imports only the foundations.
"""
from __future__ import annotations

import importlib
import importlib.util
import operator
import sys
from pathlib import Path
from typing import Any

from ..errors import SymparamError, UsageError
from .names import comment_text, identifier

ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh",
               "GELU": "gelu", "SiLU": "silu", "Softmax": "softmax"}


def load_object(spec: str) -> Any:
    """``package.module:name`` or ``path/to/file.py:name`` (the module's code runs)."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"--from torch takes MODULE:NAME (a module or a .py file, then "
                         f"the class or function building the model), not {spec!r}")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise UsageError(f"no such file: {path}")
            loaded = importlib.util.spec_from_file_location(path.stem, path)
            assert loaded is not None and loaded.loader is not None
            module = importlib.util.module_from_spec(loaded)
            sys.modules.setdefault(path.stem, module)
            loaded.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except SymparamError:
        raise
    except Exception as err:  # noqa: BLE001 - the user's code: any error, said plainly
        raise UsageError(f"cannot load {spec}: {type(err).__name__}: {err}") from None
    return obj


def _pair(value: Any) -> str:
    """A size as the language writes it: 3, or [3, 5] when the sides differ."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1:
            return str(value[0])
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


class _Writer:
    """The statements, the current tensor, the unsupported parts, the lifted sizes."""

    def __init__(self, sizes: dict[int, str]):
        self.lines: list[str] = []
        self.current: str | None = None
        self.unsupported: list[str] = []
        self.sizes = sizes
        self.names: dict[str, str] = {}

    def name(self, node: Any) -> str:
        if node.name not in self.names:
            self.names[node.name] = identifier(node.name, set(self.sizes.values()))
        return self.names[node.name]

    def size(self, value: int) -> str:
        return self.sizes.get(value, str(value))

    def emit(self, node: Any, source: Any, line: str) -> None:
        if self.current != self.name(source):
            self.lines.append(f"from {self.name(source)}")
        self.lines.append(f"{line} as {self.name(node)}")
        self.current = self.name(node)


def _conv(m: Any, dims: int) -> str:
    if m.padding_mode != "zeros":
        raise ValueError(f"padding_mode {m.padding_mode!r}")
    padding = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    out = [f"conv{dims}d {{filters}}, {_pair(m.kernel_size)}"]
    if _pair(m.stride) != "1":
        out.append(f"stride = {_pair(m.stride)}")
    if padding not in ("0", "valid"):
        out.append(f"padding = {padding}")
    if _pair(m.dilation) != "1":
        out.append(f"dilation = {_pair(m.dilation)}")
    if m.groups != 1:
        out.append(f"groups = {m.groups}")
    if m.bias is None:
        out.append("bias = false")
    return ", ".join(out)


def _pool(m: Any, kind: str) -> str:
    out = [f"{kind} {_pair(m.kernel_size)}"]
    if m.stride is not None and _pair(m.stride) != _pair(m.kernel_size):
        out.append(f"stride = {_pair(m.stride)}")
    if _pair(m.padding) != "0":
        out.append(f"padding = {_pair(m.padding)}")
    if getattr(m, "dilation", 1) not in (1, (1, 1)):
        out.append(f"dilation = {_pair(m.dilation)}")
    if m.ceil_mode:
        out.append("ceil_mode = true")
    return ", ".join(out)


def _module_line(m: Any, w: _Writer) -> str | None:
    """The statement for one module (None: it passes its input on), or ValueError."""
    kind = type(m).__name__
    if kind in ACTIVATIONS:
        return ACTIVATIONS[kind]
    if kind in ("Conv1d", "Conv2d", "Conv3d"):
        return _conv(m, int(kind[-2])).format(filters=w.size(m.out_channels))
    if kind in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        extra = ([] if m.affine else ["affine = false"]) + \
            ([] if m.track_running_stats else ["track_running_stats = false"])
        return " ".join(["batchnorm", ", ".join(extra)]).strip()
    if kind == "Linear":
        return f"dense {w.size(m.out_features)}" + ("" if m.bias is not None else ", bias = false")
    if kind in ("MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d"):
        return _pool(m, kind[:3].lower() + "pool" + kind[-2:].lower())
    if kind in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        return f"adaptive_{kind[8:11].lower()}pool2d {_pair(m.output_size)}"
    if kind == "Dropout":
        return f"dropout {m.p!r}"
    if kind == "Flatten":
        if (m.start_dim, m.end_dim) != (1, -1):
            raise ValueError("a Flatten of other axes than 1..-1")
        return "flatten"
    if kind == "Identity":
        return None
    raise ValueError(f"{kind} is not a module symparam can write yet")


def _function(node: Any, w: _Writer) -> tuple[Any, str]:
    """The first input and statement of a function or method call."""
    import torch
    import torch.nn.functional as F
    target, args = node.target, node.args
    if target in (operator.add, operator.iadd, torch.add, "add", "add_"):
        a, b = args[0], args[1]
        first, other = (b, a) if w.current == w.name(b) else (a, b)
        return first, f"add {w.name(other)}"
    if target is torch.cat:
        tensors = list(args[0])
        dim = args[1] if len(args) > 1 else node.kwargs.get("dim", 0)
        rest = ", ".join(w.name(t) for t in tensors[1:])
        return tensors[0], f"concat {rest}, axis = {dim}"
    if target in (torch.flatten, "flatten"):
        start = args[1] if len(args) > 1 else node.kwargs.get("start_dim", 0)
        if start != 1 or (len(args) > 2 and args[2] != -1):
            raise ValueError("a flatten of other axes than 1..-1")
        return args[0], "flatten"
    if target in (F.relu, torch.relu, "relu", "relu_"):
        return args[0], "relu"
    if target is F.adaptive_avg_pool2d:
        return args[0], f"adaptive_avgpool2d {_pair(args[1])}"
    raise ValueError(f"{getattr(target, '__name__', target)} is not an operation "
                     f"symparam can write yet")


def write_torch(spec: str, shape: tuple[int, ...], symbols: dict[str, int],
                name: str) -> tuple[str, str]:
    """The text of the model ``spec`` builds, for inputs of ``shape`` (without the
    batch), and the class it came from. ``symbols``: numbers to write as symbols."""
    try:
        import torch
        import torch.fx
    except ImportError as err:
        raise UsageError(f"--from torch needs PyTorch (pip install torch): {err}") from None
    obj = load_object(spec)
    try:
        with torch.device("meta"):
            model = obj if isinstance(obj, torch.nn.Module) else obj()
    except Exception as err:  # noqa: BLE001 - the user's code
        raise UsageError(f"cannot build {spec}: {type(err).__name__}: {err}") from None
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"{spec} built a {type(model).__name__}, not a torch.nn.Module")
    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception as err:  # noqa: BLE001 - fx cannot follow every forward
        raise UsageError(f"torch.fx cannot trace {spec}: {type(err).__name__}: "
                         f"{str(err)[:200]}") from None
    modules = dict(traced.named_modules())
    # Sizes lift to symbols: each input axis takes the first unused symbol of its
    # value; filters and units take the symbol of their value wherever they occur.
    sizes = {v: k for k, v in reversed(list(symbols.items()))}
    w = _Writer(sizes)
    dims, unused = [], dict(symbols)
    for d in shape:
        match = next((k for k, v in unused.items() if v == d), None)
        dims.append(match or str(d))
        if match is not None:
            del unused[match]
    inputs = 0
    for node in traced.graph.nodes:
        try:
            if node.op == "placeholder":
                inputs += 1
                if inputs > 1:
                    raise ValueError("a second input")
                w.lines.append(f"input [{', '.join(dims)}] as {w.name(node)}")
                w.current = w.name(node)
            elif node.op == "call_module":
                line = _module_line(modules[node.target], w)
                if line is None:
                    w.names[node.name] = w.name(node.args[0])
                else:
                    w.emit(node, node.args[0], line)
            elif node.op in ("call_function", "call_method"):
                first, line = _function(node, w)
                w.emit(node, first, line)
            elif node.op == "output":
                result = node.args[0]
                if not isinstance(result, torch.fx.Node):
                    raise ValueError("an output that is not one tensor")
                if w.current != w.name(result):
                    w.lines.append(f"from {w.name(result)}")
            else:
                raise ValueError(f"a {node.op} node")
        except ValueError as err:
            where = f"{node.target}" if node.op == "call_module" else node.name
            w.unsupported.append(f"{where} ({err})")
    if w.unsupported:
        shown = "; ".join(w.unsupported[:10])
        more = f"; and {len(w.unsupported) - 10} more" if len(w.unsupported) > 10 else ""
        raise SymparamError(f"{spec}: symparam cannot write {len(w.unsupported)} part(s) "
                            f"of this model yet: {shown}{more}")
    signature = ", ".join(f"{k} = {v}" for k, v in symbols.items())
    body = "\n".join("    " + line for line in w.lines)
    text = (f"# Imported by `symparam import --from torch {comment_text(spec)}`:\n# {type(model).__name__}, "
            f"traced by torch.fx for inputs of shape {list(shape)}, counted as PyTorch "
            f"does.\nconvention torch\n\nmodel {name}({signature}):\n{body}\n")
    return text, type(model).__name__
