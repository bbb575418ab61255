"""``symparam check``: build the exported model in the framework and compare every
count (total, trainable, non-trainable, buffers) and every layer's output shape with
symparam's, explaining each difference weight by weight.

The framework is imported here, when a check runs, and nowhere else in the package;
without it the check says how to install it. The exported source is written to a
temporary file and imported from there: it is symparam's own text, in which every
name of the user's was checked to be an identifier (see :mod:`symparam.export.pycode`).
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import SymparamError, UsageError
from ..limits import MAX_KERAS_CHECK_PARAMS
from ..layers.base import BUFFER, NON_TRAINABLE, SHARED, TRAINABLE
from ..stats import LayerStats, ModelStats
from . import export
from .base import Exported

INSTALL = {"torch": "pip install 'symparam[torch]' (PyTorch's CPU build: pip install torch "
                    "--index-url https://download.pytorch.org/whl/cpu)",
           "keras": "pip install 'symparam[keras]' (Keras 3 with a backend, e.g. torch)"}
KEYS = ("total", "trainable", "non_trainable", "buffers")
# Layer kinds whose main input holds integer indices.
_INDEX_INPUTS = {"embedding"}


@dataclass(frozen=True)
class CheckReport:
    """symparam's counts and the framework's, and every difference as a sentence."""

    framework: str
    model: str
    symparam: dict
    measured: dict
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def equal(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict:
        return {"model": self.model, "framework": self.framework, "equal": self.equal,
                "symparam": dict(self.symparam), "framework_counts": dict(self.measured),
                "differences": list(self.differences), "notes": list(self.notes)}


def _need(framework: str):
    try:
        return importlib.import_module(framework)
    except ImportError:
        raise UsageError(f"symparam check --against {framework} needs {framework}, which "
                         f"is not installed: {INSTALL[framework]}") from None


def _load(exported: Exported, folder: str):
    path = Path(folder) / "symparam_exported.py"
    path.write_text(exported.source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("symparam_exported", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, exported.builder)


def _counts(stats: ModelStats, layer: LayerStats) -> dict:
    by_role = {role: sum(int(stats.value(w.size * layer.multiplier) or 0)
                         for w in layer.weights if w.role == role)
               for role in (TRAINABLE, NON_TRAINABLE, BUFFER)}
    return {"trainable": by_role[TRAINABLE], "non_trainable": by_role[NON_TRAINABLE],
            "buffers": by_role[BUFFER]}


def _weights_text(stats: ModelStats, layer: LayerStats) -> str:
    return ", ".join(f"{w.name} {tuple(stats.value(d) for d in w.shape)} {w.role}"
                     for w in layer.weights if w.role != SHARED) or "no weights"


def _totals(stats: ModelStats) -> dict:
    return {"total": stats.value(stats.total), "trainable": stats.value(stats.trainable),
            "non_trainable": stats.value(stats.non_trainable),
            "buffers": stats.value(stats.buffers)}


def _shape(stats: ModelStats, shape) -> tuple:
    return tuple(stats.value(d) for d in shape)


def _compare(stats: ModelStats, framework: str, measured: dict, layers: dict,
             shapes: dict, notes: list) -> CheckReport:
    """``layers``: layer name -> (counts by role, [(weight, shape, role)]) as built;
    ``shapes``: layer name -> output shape without the batch, as run."""
    out = []
    expected = _totals(stats)
    for key in KEYS:
        if expected[key] != measured[key]:
            out.append(f"{key}: symparam {expected[key]:,}, {framework} {measured[key]:,}")
    for layer in stats.layers:
        if layer.kind == "input":
            continue
        where = f"layer '{layer.name}' ({layer.kind}, line {layer.line})"
        if layer.name in layers:
            got, weights = layers[layer.name]
            want = _counts(stats, layer)
            for role in ("trainable", "non_trainable", "buffers"):
                if want[role] != got[role]:
                    listed = ", ".join(f"{n} {s} {r}" for n, s, r in weights) or "none"
                    out.append(f"{where}: {role} symparam {want[role]:,} "
                               f"({_weights_text(stats, layer)}), {framework} "
                               f"{got[role]:,} ({listed})")
        elif any(w.role != SHARED for w in layer.weights):
            out.append(f"{where}: symparam counts {_weights_text(stats, layer)}; "
                       f"{framework} has no such layer")
        if layer.name in shapes:
            want_shape = _shape(stats, layer.output_shape)
            if tuple(shapes[layer.name]) != want_shape:
                out.append(f"{where}: output shape symparam {want_shape}, {framework} "
                           f"{tuple(shapes[layer.name])}")
        elif layer.in_model and layer.name != stats.output:
            notes.append(f"layer '{layer.name}': its output shape was not seen "
                         "(it is computed inside another expression)")
    return CheckReport(framework, stats.name, expected, measured, tuple(out), tuple(notes))


def _refused(stats: ModelStats, framework: str, err: Exception) -> CheckReport:
    first = str(err).splitlines()[0] if str(err) else ""
    return CheckReport(framework, stats.name, _totals(stats), {k: 0 for k in KEYS},
                       (f"{framework} could not build the exported model: "
                        f"{type(err).__name__}: {first}",))


def _torch_check(stats: ModelStats, exported: Exported, folder: str) -> CheckReport:
    torch = _need("torch")
    cls = _load(exported, folder)
    notes: list[str] = []
    try:
        with torch.device("meta"):
            model = cls().train(False)  # inference mode (what .eval() does)
    except Exception as err:  # the framework refuses what symparam accepted
        return _refused(stats, "torch", err)
    params = list(model.parameters())
    numel = (lambda ts: int(sum(t.numel() for t in ts)))  # noqa: E731
    measured = {"total": numel(params),
                "trainable": numel(p for p in params if p.requires_grad),
                "non_trainable": numel(p for p in params if not p.requires_grad),
                "buffers": numel(model.buffers())}
    layers, seen = {}, set()
    for name, path in exported.where.items():
        mods = [getattr(model, path[0])]
        for key in path[1:]:
            mods = [m[key] for lst in mods for m in lst]
        got = {"trainable": 0, "non_trainable": 0, "buffers": 0}
        listed = []
        for module in mods:
            for pname, p in module.named_parameters():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                got["trainable" if p.requires_grad else "non_trainable"] += p.numel()
                listed.append((pname, tuple(p.shape), "trainable" if p.requires_grad
                               else "non_trainable"))
            for bname, b in module.named_buffers():
                if id(b) in seen:
                    continue
                seen.add(id(b))
                got["buffers"] += b.numel()
                listed.append((bname, tuple(b.shape), "buffer"))
        layers[name] = (got, listed[:8])
    failed: list[str] = []
    shapes = _torch_shapes(torch, stats, model, exported, failed)
    report = _compare(stats, "torch", measured, layers, shapes, notes)
    return replace(report, differences=(*failed, *report.differences))


def _torch_shapes(torch, stats: ModelStats, model, exported: Exported,
                  failed: list) -> dict:
    """Every layer's output shape from one forward pass on the meta device, read from
    ``forward``'s variables as it runs."""
    names = {v: k for k, v in exported.variables.items()}
    inputs, indexes = [], {i for layer in stats.layers if layer.kind in _INDEX_INPUTS
                           for i in layer.inputs[:1]}
    for layer in stats.layers:
        if layer.kind == "input":
            dtype = torch.long if layer.name in indexes else torch.float32
            inputs.append(torch.zeros((2, *_shape(stats, layer.output_shape)),
                                      dtype=dtype, device="meta"))
    seen: dict = {}
    try:
        with _watching(type(model).forward.__code__, names, torch.Tensor, seen), \
                torch.no_grad():
            model(*inputs)
    except Exception as err:  # the framework refuses what symparam accepted
        first = str(err).splitlines()[0] if str(err) else ""
        failed.append(f"torch could not run the exported model's forward pass: "
                      f"{type(err).__name__}: {first}")
    return seen


@contextlib.contextmanager
def _watching(code, names: dict, tensor_type, shapes: dict):
    """While the block runs, record the shape (batch left out) of every variable of
    ``names`` (variable -> layer) each time the function of ``code`` moves a line."""
    def watch(frame, event, arg):
        if frame.f_code is not code:
            return None

        def local(frame, event, arg):
            for var, value in frame.f_locals.items():
                if var in names and isinstance(value, tensor_type):
                    shapes[names[var]] = tuple(value.shape[1:])
            return local
        return local
    old = sys.gettrace()
    sys.settrace(watch)
    try:
        yield
    finally:
        sys.settrace(old)


def _keras_check(stats: ModelStats, exported: Exported, folder: str) -> CheckReport:
    total = stats.value(stats.total) or 0
    if total > MAX_KERAS_CHECK_PARAMS:
        raise UsageError(f"the model has {total:,} parameters: Keras would allocate every "
                         f"one (the limit is {MAX_KERAS_CHECK_PARAMS:,}); check it with "
                         "smaller values of its symbols (--set), or --against torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras's own default is TensorFlow
    keras = _need("keras")
    build = _load(exported, folder)
    keras.backend.clear_session(free_memory=False)
    notes: list[str] = []
    shapes: dict = {}
    names = {v: k for k, v in exported.variables.items()}

    try:
        with _watching(build.__code__, names, keras.KerasTensor, shapes):
            model = build()
    except Exception as err:  # the framework refuses what symparam accepted
        return _refused(stats, "keras", err)
    size = (lambda ws: int(sum(math.prod(w.shape) for w in ws)))  # noqa: E731
    measured = {"total": int(model.count_params()), "trainable": size(model.trainable_weights),
                "non_trainable": size(model.non_trainable_weights), "buffers": 0}
    layers, seen = {}, set()
    for name, (var, depth) in exported.where.items():
        pattern = re.compile(re.escape(var) + r"(__\d+)" + "{" + depth + r"}\Z")
        got = {"trainable": 0, "non_trainable": 0, "buffers": 0}
        listed = []
        for layer in model.layers:
            if not pattern.match(layer.name):
                continue
            for role, weights in (("trainable", layer.trainable_weights),
                                  ("non_trainable", layer.non_trainable_weights)):
                for w in weights:
                    if id(w) in seen:
                        continue
                    seen.add(id(w))
                    got[role] += math.prod(w.shape)
                    listed.append((w.path, tuple(w.shape), role))
        layers[name] = (got, listed[:8])
    return _compare(stats, "keras", measured, layers, shapes, notes)


def check(stats: ModelStats, framework: str, source: str = "") -> CheckReport:
    """Export ``stats`` to ``framework``, build it, and compare.

    >>> import symparam
    >>> s = symparam.analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n",
    ...                      convention="torch")
    >>> check(s, "torch").equal  # doctest: +SKIP
    True
    """
    if framework not in INSTALL:
        raise UsageError(f"unknown framework '{framework}' (torch or keras)")
    if not stats.complete:
        missing = ", ".join(str(s) for s in stats.symbols if s not in stats.values)
        raise UsageError(f"symparam check needs a value for every symbol: give "
                         f"{missing} with --set")
    exported = export(stats, framework, source)
    with tempfile.TemporaryDirectory(prefix="symparam-check-") as folder:
        try:
            if framework == "torch":
                return _torch_check(stats, exported, folder)
            return _keras_check(stats, exported, folder)
        except SymparamError:
            raise
        finally:
            sys.modules.pop("symparam_exported", None)
