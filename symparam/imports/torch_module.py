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
from dataclasses import dataclass
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
        self.ops: list[Op] = []

    def name(self, node: Any) -> str:
        if node.name not in self.names:
            self.names[node.name] = identifier(node.name, set(self.sizes.values()))
        return self.names[node.name]

    def size(self, value: int) -> str:
        return self.sizes.get(value, str(value))

    def emit(self, node: Any, source: Any, line: str, others: tuple[Any, ...] = ()) -> None:
        stack = tuple(node.meta.get("nn_module_stack", {}))
        self.ops.append(Op(self.name(node), self.name(source), line,
                           tuple(self.name(o) for o in others), stack))
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


def _function(node: Any, w: _Writer) -> tuple[Any, str, tuple[Any, ...]]:
    """The first input, the statement (``{}`` for the other inputs' names) and the
    other inputs of a function or method call."""
    import torch
    import torch.nn.functional as F
    target, args = node.target, node.args
    if target in (operator.add, operator.iadd, torch.add, "add", "add_"):
        a, b = args[0], args[1]
        first, other = (b, a) if w.current == w.name(b) else (a, b)
        return first, "add {}", (other,)
    if target is torch.cat:
        tensors = list(args[0])
        dim = args[1] if len(args) > 1 else node.kwargs.get("dim", 0)
        return tensors[0], "concat {}, axis = " + str(dim), tuple(tensors[1:])
    if target in (torch.flatten, "flatten"):
        start = args[1] if len(args) > 1 else node.kwargs.get("start_dim", 0)
        if start != 1 or (len(args) > 2 and args[2] != -1):
            raise ValueError("a flatten of other axes than 1..-1")
        return args[0], "flatten", ()
    if target in (F.relu, torch.relu, "relu", "relu_"):
        return args[0], "relu", ()
    if target is F.adaptive_avg_pool2d:
        return args[0], f"adaptive_avgpool2d {_pair(args[1])}", ()
    raise ValueError(f"{getattr(target, '__name__', target)} is not an operation "
                     f"symparam can write yet")


@dataclass(frozen=True)
class Op:
    """One statement: its tensor's name, the tensor it reads, the statement (``{}``
    for the other tensors it reads) and the module path it was called in."""

    name: str
    source: str
    line: str
    others: tuple[str, ...]
    stack: tuple[str, ...]

    def text(self, named: bool = True) -> str:
        line = self.line.format(", ".join(self.others))
        return f"{line} as {self.name}" if named else line


def _flat(ops: list[Op], current: str, named: set[str] | None = None
          ) -> tuple[list[str], str]:
    """One statement per op, with ``from`` where an op does not read the current one;
    ``named``: the ops that keep their names (default: all)."""
    lines = []
    for op in ops:
        if op.source != current:
            lines.append(f"from {op.source}")
        lines.append(op.text(named is None or op.name in named))
        current = op.name
    return lines, current


def _segment(ops: list[Op], i: int, path: str) -> int:
    """The end of the run of ops from ``i`` called inside module ``path``."""
    j = i
    while j < len(ops) and path in ops[j].stack:
        j += 1
    return j


def _shape_of(ops: list[Op], start: str) -> tuple | None:
    """A segment's form, its names replaced by positions (the input: 'in'); None when
    it reads a tensor from before the segment other than its input."""
    where = {op.name: k for k, op in enumerate(ops)}

    def ref(name: str) -> Any:
        return "in" if name == start else where.get(name, None)
    form = []
    for op in ops:
        refs = (ref(op.source),) + tuple(ref(o) for o in op.others)
        if None in refs:
            return None
        form.append((op.line, refs))
    return tuple(form)


def _body(ops: list[Op], start: str) -> list[str] | None:
    """A repeated segment as a body: a chain, or a chain added to its input (with a
    shortcut chain of its own), then a chain; None for other shapes."""
    # A body keeps the first copy's names (unique in the model) where it reads them.
    reads_in = [k for k, op in enumerate(ops) if start in op.others
                or (op.source == start and k > 0)]
    if not reads_in:
        lines, _ = _flat(ops, start, _referenced(ops))
        return lines
    add = next((k for k, op in enumerate(ops) if op.line == "add {}"), None)
    if add is None or ops[0].source != start:
        return None
    split = next((k for k in range(1, add) if ops[k].source == start), add)
    main, short, rest = ops[:split], ops[split:add], ops[add + 1:]
    if not _chain(main, start) or (short and not _chain(short, start)):
        return None
    ends = {main[-1].name if main else start, short[-1].name if short else start}
    if {ops[add].source, *ops[add].others} != ends or (rest and rest[0].source != ops[add].name):
        return None
    named = _referenced(ops)
    lines = ["residual:"] + ["    " + x for x in _flat(main, start, named)[0]]
    if short:
        lines += ["shortcut:"] + ["    " + x for x in _flat(short, start, named)[0]]
    return lines + _flat(rest, ops[add].name, named)[0] if rest else lines


def _chain(ops: list[Op], start: str) -> bool:
    return all(op.source == (ops[k - 1].name if k else start) and not op.others
               for k, op in enumerate(ops))


def _referenced(ops: list[Op]) -> set[str]:
    """The names a body needs: those read other than as the current tensor."""
    out: set[str] = set()
    for k, op in enumerate(ops):
        out.update(op.others)
        if k and op.source != ops[k - 1].name:
            out.add(op.source)
    return out


def render(ops: list[Op], start: str) -> tuple[list[str], str]:
    """The statements, runs of identical children of one module (``layer1.0``,
    ``layer1.1``, ...) rolled into ``repeat N:``; and the current tensor's name."""
    lines: list[str] = []
    current, i = start, 0
    later_reads = [set(op.others) | {op.source} for op in ops]
    while i < len(ops):
        rolled = False
        for path in ops[i].stack:
            parent, _, index = path.rpartition(".")
            if not index.isdigit() or (i and path in ops[i - 1].stack):
                continue
            runs, j, n = [], i, int(index)
            while j < len(ops) and f"{parent}.{n}" in ops[j].stack:
                end = _segment(ops, j, f"{parent}.{n}")
                runs.append((j, end))
                j, n = end, n + 1
            seg_in = current
            forms = []
            for a, b in runs:
                forms.append(_shape_of(ops[a:b], seg_in))
                seg_in = ops[b - 1].name
            count = 1
            while count < len(runs) and forms[count] is not None \
                    and forms[count] == forms[0]:
                count += 1
            if count < 2 or forms[0] is None:
                continue
            end = runs[count - 1][1]
            inside = {op.name for op in ops[i:end - 1]}
            if any(inside & reads for reads in later_reads[end:]):
                continue
            body = _body(ops[runs[0][0]:runs[0][1]], current)
            if body is None:
                continue
            lines += [f"repeat {count}:"] + ["    " + x for x in body]
            current, i, rolled = ops[end - 1].name, end, True
            # The repeat's output has no name: give it one if a later op needs it.
            if any(current in reads for reads in later_reads[end + 1:]) or \
                    (end < len(ops) and current in ops[end].others):
                lines.append(f"identity as {current}")
            break
        if not rolled:
            one, current = _flat([ops[i]], current)
            lines += one
            i += 1
    return lines, current


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
    inputs, start, output = 0, "", ""
    for node in traced.graph.nodes:
        try:
            if node.op == "placeholder":
                inputs += 1
                if inputs > 1:
                    raise ValueError("a second input")
                w.lines.append(f"input [{', '.join(dims)}] as {w.name(node)}")
                w.current = start = w.name(node)
            elif node.op == "call_module":
                line = _module_line(modules[node.target], w)
                if line is None:
                    w.names[node.name] = w.name(node.args[0])
                else:
                    w.emit(node, node.args[0], line)
            elif node.op in ("call_function", "call_method"):
                first, line, others = _function(node, w)
                w.emit(node, first, line, others)
            elif node.op == "output":
                result = node.args[0]
                if not isinstance(result, torch.fx.Node):
                    raise ValueError("an output that is not one tensor")
                output = w.name(result)
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
    rendered, current = render(w.ops, start)
    lines = w.lines + rendered
    if current != output:
        lines.append(f"from {output}")
    signature = ", ".join(f"{k} = {v}" for k, v in symbols.items())
    body = "\n".join("    " + line for line in lines)
    text = (f"# Imported by `symparam import --from torch {comment_text(spec)}`:\n# {type(model).__name__}, "
            f"traced by torch.fx for inputs of shape {list(shape)}, counted as PyTorch "
            f"does.\nconvention torch\n\nmodel {name}({signature}):\n{body}\n")
    return text, type(model).__name__
