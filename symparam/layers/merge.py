"""Merges: layers whose inputs are the current tensor and named ones."""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from ..exprs import as_expr
from .base import (Applied, Arg, ArgError, Example, LayerKind, fmt_shape, normalize_axis,
                   optional, register, signed)
from .base import Family

# The highest degree of a one-symbol polynomial whose whole roots never_equal looks
# for (exactly); above it, the merge is checked when values are given.
_MAX_DEGREE = 8
# The most values of a symbol never_equal tries exactly, where a difference of floors
# could vanish; more, and the merge is checked when values are given.
_MAX_TRIED = 256

# Each element-wise merge's equation, for its card (K tensors x_1 ... x_K).
_EQUATIONS = {
    "add": r"y = \sum_{k=1}^{K} x_k",
    "subtract": r"y = x_1 - x_2",
    "multiply": r"y = \prod_{k=1}^{K} x_k",
    "average": r"y = \frac{1}{K} \sum_{k=1}^{K} x_k",
    "maximum": r"y = \max_k x_k",
    "minimum": r"y = \min_k x_k",
}


def same_dim(a, b) -> bool | None:
    """True if two dimensions are equal for all values of the symbols, False if they
    differ for some, None if sympy cannot tell and sampling finds no difference."""
    diff = sympy.expand(a - b)
    if diff == 0:
        return True
    if diff.is_number:
        return False
    free = sorted(diff.free_symbols, key=str)
    # A difference of floors and ceilings often vanishes on integers without sympy
    # proving it: try small and large values of every symbol.
    for probe in (1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 100, 127, 224, 1000, 4097):
        val = diff.xreplace({s: sympy.Integer(probe + i) for i, s in enumerate(free)})
        if val != 0:
            return False
    for probe in (1, 2, 3, 6, 9, 64, 1001):
        val = diff.xreplace({s: sympy.Integer(probe) for s in free})
        if val != 0:
            return False
    return None


def never_equal(a, b) -> bool:
    """True if two dimensions differ whatever positive whole values the symbols take:
    a merge of them is an error at once. Dimensions that agree for some values only
    (12 and d; a map pooled four times then upsampled four times, which matches the
    original when 16 divides it) are checked when the symbols get values instead.
    Never decided by sampling a few values (a value not tried may be the one that
    agrees): by a proof, or by trying every value where agreement is still possible.

    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> never_equal(2 * sympy.floor(H / 2), H), never_equal(H + 1, H), never_equal(12, H)
    (False, True, False)
    >>> never_equal(2 * H, H), never_equal(H ** 2, 2), never_equal(sympy.floor(H / 2), H)
    (True, True, True)
    """
    diff = sympy.expand(a - b)
    if diff.is_number:
        return diff != 0
    if diff.is_zero is False:  # sympy proves it from the assumptions (d vs 2d)
        return True
    free = diff.free_symbols
    if len(free) != 1:
        return False
    (s,) = free
    if diff.is_polynomial(s):
        poly = sympy.Poly(diff, s)
        if poly.degree() <= _MAX_DEGREE:  # no positive whole root: never equal
            return not any(r.is_integer and r.is_positive for r in poly.real_roots())
        return False
    return _no_root_near_line(diff, s)


def _smooth(e) -> tuple | None:
    """``e`` without its floors and ceilings, and a bound on what that changes:
    (smooth, error) with |e - smooth| <= error, or None when ``e`` is not a sum of
    numbers times (nested) floors and ceilings of such sums."""
    if e.is_Symbol or e.is_number:
        return e, 0
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        inner = _smooth(e.args[0])
        return None if inner is None else (inner[0], inner[1] + 1)
    if e.is_Add:
        found = [_smooth(a) for a in e.args]
        parts = [p for p in found if p is not None]
        if len(parts) < len(found):
            return None
        return sympy.Add(*[p[0] for p in parts]), sum(p[1] for p in parts)
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        inner = _smooth(rest) if coeff != 1 else None
        return None if inner is None else (coeff * inner[0], abs(coeff) * inner[1])
    return None


def _no_root_near_line(diff, s) -> bool:
    """A difference of floors and ceilings of one symbol is a line a*s + b give or take
    a bounded error: it can vanish only where the line is within the error of zero, a
    few values of s, which are tried exactly (H and floor(H/2): never equal)."""
    smooth = _smooth(diff)
    if smooth is None or not sympy.expand(smooth[0]).is_polynomial(s):
        return False
    line, err = sympy.Poly(smooth[0], s), smooth[1]
    if line.degree() > 1:
        return False
    a, b = (line.all_coeffs() if line.degree() == 1 else [0, line.all_coeffs()[0]])
    if a == 0:
        return abs(b) > err
    last = int((err + abs(b)) / abs(a)) + 1  # beyond it, |a*s + b| > err
    if last > _MAX_TRIED:
        return False
    return all(diff.xreplace({s: sympy.Integer(v)}) != 0 for v in range(1, last + 1))


def broadcast(shapes, ctx, verb: str = "merge") -> tuple:
    """The shape of an element-wise operation on tensors of these ``shapes`` (batch
    left out), broadcast as NumPy, Keras's merges and PyTorch's ``*`` do: the axes
    aligned from the right (a shorter shape gains leading axes of size 1, as Keras
    expands a lower-rank input after its batch axis), and on each axis the sizes
    equal, or 1, which stretches to the others'.

    With symbols, "equal or 1" that only values can decide (``d`` against 12) is a
    check made when they are given (``ctx.require``); sizes that can never agree
    (``d`` and ``2*d``; ``2`` and ``3``) raise :class:`ArgError` naming the shapes
    and the axis. ``verb`` names the operation in messages (``multiply``). This is
    the one broadcasting rule: merges, and anything else that broadcasts, call it.

    >>> from symparam.layers.base import Context
    >>> H, C = sympy.symbols("H C", integer=True, positive=True)
    >>> broadcast([(H, H, C), (1, 1, C)], Context("keras", "channels_last"))
    (H, H, C)
    >>> broadcast([(H, 4), (4,)], Context("keras", "channels_last"))
    (H, 4)
    """
    rank = max(len(shape) for shape in shapes)
    padded = [(sympy.Integer(1),) * (rank - len(shape)) + tuple(shape) for shape in shapes]
    shown = " and ".join(fmt_shape(shape) for shape in shapes)
    out = []
    for axis in range(rank):
        dims = [as_expr(shape[axis]) for shape in padded]
        out.append(_broadcast_axis(dims, ctx, verb, shown, axis - rank))
    return tuple(out)


def _broadcast_axis(dims: list, ctx, verb: str, shown: str, axis: int):
    """One axis of :func:`broadcast` (``axis`` counted from the end, -1 the last).
    Messages name the sizes in the order of the tensors."""
    sizes = [(i, d) for i, d in enumerate(dims) if d != 1]
    if not sizes:
        return sympy.Integer(1)
    # The output is a size that cannot be 1 when there is one (12 against d: d must be
    # 12 or 1, and the output is 12); otherwise the largest (the others are it or 1).
    sure = [(i, d) for i, d in sizes if never_equal(d, 1)]
    k, out = sure[0] if sure else sizes[0]
    where = f" (axis {axis})" if axis != -1 else ""
    for i, d in sizes:
        if i == k or same_dim(d, out) is True:
            continue
        p, q = (out, d) if k < i else (d, out)
        if sure and never_equal(d, out) and never_equal(d, 1):
            raise ArgError(f"cannot {verb} tensors of shapes {shown}: {p} and {q} are never "
                           f"equal, and {d} is never 1{where}")
        if sure:
            ctx.require(sympy.Or(sympy.Eq(d, out), sympy.Eq(d, 1)),
                        lambda p=p, q=q, d=d: (f"cannot {verb} tensors of shapes {shown}: "
                                               f"{p} must equal {q}, or {d} be 1{where}"))
        else:  # neither is surely above 1: equal, or either one 1; the output their max
            ctx.require(sympy.Or(sympy.Eq(d, out), sympy.Eq(d, 1), sympy.Eq(out, 1)),
                        lambda p=p, q=q: (f"cannot {verb} tensors of shapes {shown}: {p} "
                                          f"must equal {q}, or one of them be 1{where}"))
    if not sure and any(same_dim(d, out) is not True for _, d in sizes):
        return sympy.Max(*[d for _, d in sizes])
    return out


MERGE = Family("merge", "Merges", 50)


class Elementwise(LayerKind):
    family = MERGE
    inputs = "many"
    min_rank = 0

    def __init__(self, name: str, keras: str, torch: str, aliases=()):
        self.names = (name, *aliases)
        self.keras, self.torch, self.auto_name = keras, torch, name
        self.doc = (f"{keras} of tensors, element by element, broadcast as NumPy does "
                    f"(axes aligned from the right, a size 1 stretches); no weights.")
        self.equation = _EQUATIONS[name]
        self.where = ("element by element, after broadcasting; x_1 is the current tensor, "
                      "the others are named")
        self.example = Example("[n]", f"{name} b", others=("[n] as b",))

    def apply_many(self, a, xs, ctx):
        return Applied(broadcast(xs, ctx, self.names[0]))

    def cost(self, a, xs, out, ctx):
        """k tensors: k - 1 operations per output element (average: k, the k - 1
        additions and a scaling)."""
        per = len(xs) if self.names[0] == "average" else len(xs) - 1
        return Cost(elementwise=per * elements(out))


class Concat(LayerKind):
    family = MERGE
    names = ("concat", "concatenate", "cat")
    keras, torch, auto_name = "Concatenate", "torch.cat", "concatenate"
    inputs = "many"
    args = (Arg("axis", optional(signed), None, positional=False, aliases=("dim",)),)
    doc = "Joins tensors along an axis (the channel axis by default); no weights."
    equation = r"y = \left[x_1; x_2; \ldots; x_K\right]"
    where = "the tensors side by side along the axis; the other axes must agree"
    example = Example("[n]", "concat b", others=("[m] as b",))

    def apply_many(self, a, xs, ctx):
        rank = len(xs[0])
        default = -1 if ctx.channels_last else 1
        i = normalize_axis(a.axis if a.axis is not None else default, rank)
        for other in xs[1:]:
            if len(other) != rank or any(never_equal(p, q) for j, (p, q)
                                         in enumerate(zip(xs[0], other)) if j != i):
                raise ArgError(f"cannot concatenate tensors of shapes "
                               f"{' and '.join(fmt_shape(s) for s in xs)} along axis {i + 1}")
            for j, (p, q) in enumerate(zip(xs[0], other)):
                if j != i:
                    ctx.require(sympy.Eq(p, q), lambda p=p, q=q: f"concatenate: {p} must equal {q}")
        out = list(xs[0])
        out[i] = sympy.Add(*[s[i] for s in xs])
        return Applied(tuple(out))

    def cost(self, a, xs, out, ctx):
        return Cost()  # copies only


for _kind in (Elementwise("add", "Add", "torch.add"),
              Elementwise("subtract", "Subtract", "torch.sub"),
              Elementwise("multiply", "Multiply", "torch.mul"),
              Elementwise("average", "Average", "torch.mean"),
              Elementwise("maximum", "Maximum", "torch.maximum"),
              Elementwise("minimum", "Minimum", "torch.minimum"),
              Concat()):
    register(_kind)
