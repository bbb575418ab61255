"""Where a metric of one symbol crosses a target, when it has no closed-form root.

A count with floor or ceiling (a convolution's output length, ``floor((T - 3)/s) + 1``
for a stride ``s``) is a step function, and it need not grow with the symbol: it can
fall, or rise and fall. So every whole value from 1 to
:data:`~symparam.limits.SOLVE_SCAN` is evaluated, exactly (numerator and denominator
as arrays of Python integers: no floating point, division by the symbol allowed), and
each place where the metric passes the target, or equals it, is a crossing. Beyond
that range the metric is probed at each power of 2 up to
2 ** :data:`~symparam.limits.SOLVE_PROBE_BITS`, and a change of side between two
probes is narrowed to two neighbouring values by bisection.

>>> import sympy
>>> s = sympy.Symbol("s", integer=True, positive=True)
>>> c = crossings(sympy.floor(122 / s) + 6, s, 20)
>>> c.found, c.total, c.scanned
([(8, 9, False)], 1, True)
>>> crossings(2 * s + sympy.floor(s / 3), s, 2 * 10**9).found
[(857142857, 857142858, False)]
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..limits import SOLVE_CROSSINGS, SOLVE_PROBE_BITS, SOLVE_SCAN

CHUNK = 1 << 16


class Unsupported(Exception):
    """The formula uses an operation the exact array evaluator does not know."""


@dataclass(frozen=True)
class Crossings:
    found: list      # (lo, hi, hit): the walk for values below starts at lo, above at
                     # hi; hit: the metric equals the target from lo to hi
    total: int       # crossings found in all (only the first SOLVE_CROSSINGS are kept)
    scanned: bool    # found by the scan of 1..SOLVE_SCAN (else by the probes beyond)


def _fraction(e, x, ns):
    """(numerator, denominator) of ``e`` at each n of ``ns`` (an object array), the
    denominator positive where it is not 0."""
    import numpy as np

    if e.is_Rational:
        return int(e.p), int(e.q)
    if e == x:
        return ns, 1
    if e.is_Add:
        num, den = 0, 1
        for a in e.args:
            n2, d2 = _fraction(a, x, ns)
            num, den = num * d2 + n2 * den, den * d2
        return num, den
    if e.is_Mul:
        num, den = 1, 1
        for a in e.args:
            n2, d2 = _fraction(a, x, ns)
            num, den = num * n2, den * d2
        return num, den
    if e.is_Pow and e.exp.is_Integer:
        num, den = _fraction(e.base, x, ns)
        k = int(e.exp)
        if k < 0:
            num, den, k = den * np.sign(num), abs(num), -k
        return num ** k, den ** k
    square = _square(e.args[0]) if isinstance(e, (sympy.floor, sympy.ceiling)) else None
    if square is not None:
        return _rounded_sqrt(square, isinstance(e, sympy.floor), x, ns), 1
    if isinstance(e, sympy.floor):
        num, den = _fraction(e.args[0], x, ns)
        return num // _nonzero(den), 1
    if isinstance(e, sympy.ceiling):
        num, den = _fraction(e.args[0], x, ns)
        return -((-num) // _nonzero(den)), 1
    if isinstance(e, sympy.Mod):  # a - b * floor(a / b)
        (na, da), (nb, db) = (_fraction(a, x, ns) for a in e.args)
        q = (na * db) // _nonzero(da * nb)
        return na * db - nb * da * q, da * db
    if isinstance(e, (sympy.Min, sympy.Max)):
        parts = [_fraction(a, x, ns) for a in e.args]
        num, den = parts[0]
        for n2, d2 in parts[1:]:
            pick = (n2 * den < num * d2) if isinstance(e, sympy.Min) else (n2 * den > num * d2)
            num, den = np.where(pick, n2, num), np.where(pick, d2, den)
        return num, den
    if isinstance(e, sympy.Abs):
        num, den = _fraction(e.args[0], x, ns)
        return abs(num), den
    raise Unsupported(sympy.sstr(e)[:80])


def _square(e):
    """For ``e`` = sqrt(q) with q free of roots (``sqrt(3)*sqrt(d)/3``), q; else None."""
    if not any(p.exp.is_Rational and not p.exp.is_Integer for p in e.atoms(sympy.Pow)):
        return None
    square = sympy.powsimp(sympy.expand(e**2), force=True)
    if e.is_nonnegative and not any(not p.exp.is_Integer for p in square.atoms(sympy.Pow)):
        return square
    return None


def _rounded_sqrt(square, floor: bool, x, ns):
    """floor or ceiling of sqrt(a/b) (b > 0, a >= 0), exactly: with r = isqrt(a*b),
    floor(sqrt(a*b)/b) = r // b, and the ceiling is one more unless sqrt(a/b) is whole."""
    import math

    import numpy as np

    num, den = _fraction(square, x, ns)
    num, den = np.broadcast_arrays(np.asarray(num, dtype=object), np.asarray(den, dtype=object))
    prod = num * den
    root = np.frompyfunc(lambda v: math.isqrt(max(int(v), 0)), 1, 1)(prod)
    low = root // _nonzero(den)
    if floor:
        return low
    whole = (root * root == prod) & (root % _nonzero(den) == 0)
    return np.where(whole, low, low + 1)


def _nonzero(den):
    import numpy as np

    # A zero denominator leaves no value there: 1 keeps the arithmetic going, and the
    # point is dropped by the check of the denominators in `signs`.
    return np.where(den == 0, 1, den) if isinstance(den, np.ndarray) else (den or 1)


def signs(g, x, target: int, ns):
    """The sign of g(n) - target at each n (an int8 array), exactly; 2 where g has no
    value (a zero denominator)."""
    import numpy as np

    ns = np.asarray(ns, dtype=object)
    num, den = _fraction(g - target, x, ns)
    num = np.broadcast_to(np.asarray(num, dtype=object), ns.shape)
    den = np.broadcast_to(np.asarray(den, dtype=object), ns.shape)
    out = np.sign(num * np.sign(den)).astype(np.int8)
    out[den == 0] = 2
    return out


def crossings(g, x, target: int) -> Crossings:
    """The places where ``g`` (a formula in ``x`` alone) crosses ``target``: the
    exhaustive scan of 1..SOLVE_SCAN first; only if it finds none, the probes beyond.
    Raises :class:`Unsupported` for a formula it cannot evaluate exactly."""
    import numpy as np

    found: list = []
    total, last = 0, None  # last: (n, sign) of the previous valid point
    for start in range(1, SOLVE_SCAN + 1, CHUNK):
        ns = np.arange(start, min(start + CHUNK, SOLVE_SCAN + 1), dtype=np.int64)
        sg = signs(g, x, target, ns.astype(object))
        ok = sg != 2
        ns, sg = ns[ok], sg[ok]
        if last is not None:
            ns, sg = np.concatenate(([last[0]], ns)), np.concatenate(([last[1]], sg))
        for crossing in _runs(ns, sg, skip_first=last is not None):
            total += 1
            if len(found) < SOLVE_CROSSINGS:
                found.append(crossing)
        if len(ns):
            last = (int(ns[-1]), int(sg[-1]))
    if total or last is None:
        return Crossings(found, total, True)
    return _probe(g, x, target, last)


def _runs(ns, sg, skip_first: bool):
    """Crossings in one chunk: a run of exact hits (lo, hi), or two neighbouring
    values on either side (n, next n). A run that began in an earlier chunk was
    reported there (``skip_first``: the chunk starts with that chunk's last point)."""
    import numpy as np

    out = []
    zero = sg == 0
    edges = np.diff(np.concatenate(([0], zero.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    for a, b in zip(starts.tolist(), ends.tolist()):
        if not (skip_first and a == 0):
            out.append((a, (int(ns[a]), int(ns[b]), True)))
    flips = np.flatnonzero(sg[:-1].astype(np.int16) * sg[1:] == -1)
    out += [(i, (int(ns[i]), int(ns[i + 1]), False)) for i in flips.tolist()]
    return [pair for _, pair in sorted(out)]


def _probe(g, x, target: int, last) -> Crossings:
    """Beyond the scan: g at each power of 2 up to 2**SOLVE_PROBE_BITS; the first
    change of side, narrowed by bisection to two neighbouring values."""
    lo, side = last
    n = 1 << lo.bit_length()
    while n <= 1 << SOLVE_PROBE_BITS:
        s = _sign_at(g, x, target, n)
        if s == 0:
            return Crossings([(n, n, True)], 1, False)
        if s != 2 and s != side:
            return Crossings([_bisect(g, x, target, lo, n, side)], 1, False)
        if s != 2:
            lo = n
        n *= 2
    return Crossings([], 0, False)


def _sign_at(g, x, target: int, n: int) -> int:
    import numpy as np

    return int(signs(g, x, target, np.array([n], dtype=object))[0])


def _bisect(g, x, target: int, lo: int, hi: int, side: int) -> tuple:
    """Two neighbouring values between lo (on ``side``) and hi (not): the last on
    ``side`` and the next; an exact hit on the way is a crossing of its own."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        s = _sign_at(g, x, target, mid)
        if s == 0:
            return mid, mid, True
        if s == side or s == 2:
            lo = mid
        else:
            hi = mid
    return lo, hi, False
