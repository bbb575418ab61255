"""Random architectures written as symparam source text, from a seed.

The generator tracks shapes itself (with the frameworks' formulas, independently of
symparam) only to keep every model valid: kernels that fit, channels that divide by
groups, merges of matching shapes. It writes the language's features at random:
symbols with defaults, ``let``, expressions, named tensors and ``from``, merges by
name, ``residual:``/``shortcut:``, ``branches``, rolled and unrolled ``repeat`` (with
and without an index), blocks calling blocks, several inputs, and both layouts.

>>> text = generate(7, "torch")
>>> text.startswith("convention torch")
True
>>> generate(7, "torch") == text   # the same seed gives the same model
True
"""
from __future__ import annotations

from typing import Optional

from .gen_base import ELEMENTWISE, D, same
from .gen_layers import Layers


class Gen(Layers):
    """Statements and the model: structure around the layers of :class:`Layers`."""

    # ---- statements -----------------------------------------------------------------
    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def layers(self, indent, x, n, keep=False, change="any"):
        for _ in range(n):
            layer = self.keep_layer(x, change) if keep else self.any_layer(x)
            self.emit(indent, layer.text)
            x = layer.fn(x)
        return x

    def residual(self, indent, x, change="any"):
        self.emit(indent, "residual:")
        y = self.layers(indent + 1, x, self.ri(1, 3), keep=True, change=change)
        fix = self.to_shape(x, y)
        if fix or self.chance(0.2):
            self.emit(indent, "shortcut:")
            for layer in fix or [self.simple(x)]:
                self.emit(indent + 1, layer.text)
        return y

    def branches(self, indent, x):
        merge = self.rng.choice(("concat",) * 3 + ELEMENTWISE)
        n = 2 if merge == "subtract" else self.ri(2, 3)
        outer, bodies, outs = self.lines, [], []
        for _ in range(n):
            self.lines = []
            # concat joins along the channel axis: only the channels may differ
            outs.append(self.layers(indent + 2, x, self.ri(1, 2), keep=True,
                                    change="channels" if merge == "concat" else "any"))
            bodies.append(self.lines)
        if merge != "concat":  # an elementwise merge: every branch ends alike
            target = self.written(outs[0])
            for body, y in zip(bodies, outs):
                self.lines = body
                for layer in self.to_shape(y, target):
                    self.emit(indent + 2, layer.text)
        self.lines = outer
        head = (f"branches {merge}:" if merge != "concat" or not self.cl or self.chance(0.7)
                else "branches concat, axis = -1:")
        self.emit(indent, head)
        for body in bodies:
            self.emit(indent + 1, "branch:")
            self.lines += body
        if merge != "concat":
            return target
        ax = len(x) - 1 if (self.cl or len(x) == 1) else 0
        out = list(x)
        out[ax] = D(sum(o[ax] for o in outs), ("sum",) + tuple(o[ax].key for o in outs))
        return tuple(out)

    def repeat(self, indent, x):
        r = self.rng.random()
        if r < 0.45:  # rolled: the body keeps the shape
            count = self.num(self.ri(1, 3)) if self.chance(0.7) else str(self.ri(1, 3))
            self.emit(indent, f"repeat {count}:")
            change = "any" if same(self.written(x), x) else "none"
            y = self.layers(indent + 1, x, self.ri(1, 2), keep=True, change=change)
            if self.chance(0.3):
                y = self.residual(indent + 1, y, change)
            for layer in self.to_shape(y, x):
                self.emit(indent + 1, layer.text)
            return x
        if r < 0.7:  # an index: unrolled, the sizes grow with i
            count = self.ri(2, 3)
            self.emit(indent, f"repeat {count} as i:")
            base = self.ri(1, 6)
            if len(x) >= 2 and len(x) <= 4 and self.chance(0.6):
                layer = self.conv(x, keep=True, groups_ok=False)
                head, rest = layer.text.split(",", 1)
                self.emit(indent + 1, f"{head.split()[0]} {base} + 2 * i,{rest}")
                y = self.join(self.split(x)[0], D(base + 2 * (count - 1), None))
            else:
                self.emit(indent + 1, f"dense {base} + i")
                y = (*x[:-1], D(base + count - 1, None))
            if self.chance(0.5):
                self.emit(indent + 1, self.simple(y).text)
            return y
        # a body that changes the shape, repeated a number of times: unrolled
        layer = self.any_layer(x)
        count, y = self.ri(2, 3), x
        for _ in range(count):
            y = layer.fn(y) if y is not None else None
        if y is None:
            self.emit(indent, layer.text)
            return layer.fn(x)
        self.emit(indent, f"repeat {count}:")
        self.emit(indent + 1, layer.text)
        return y

    def block_call(self, indent, x):
        """A block, named (so that it can be reused) half of the time at the top."""
        mark = len(self.lines)
        y = self._block_call(indent, x)
        if indent == 1 and self.chance(0.5):
            self.names += 1
            name = f"b{self.names}"
            self.lines[mark] += f" as {name}"
            self.tensors[name] = y
            self.reusable[name] = (x, y)
        return y

    def _block_call(self, indent, x):
        rank = len(x) - 1
        f = self.dim(self.ri(1, 8))
        if 1 <= rank <= 3:
            name = f"unit{rank}d"
            self.blocks.setdefault(name, [
                f"block {name}(f, k = 3):",
                f"    conv{rank}d f, k, padding = same",
                "    batchnorm",
                "    relu"])
            if self.chance(0.4):
                self.blocks.setdefault(f"pair{rank}d", [
                    f"block pair{rank}d(f):",
                    f"    {name} f",
                    "    residual:",
                    f"        {name} f, k = 1",
                    "        dropout 0.1"])
                self.emit(indent, f"pair{rank}d {f.key}")
            else:
                k = self.rng.choice(("", ", k = 1", ", 2"))
                self.emit(indent, f"{name} {f.key}{k}")
            return self.join(self.split(x)[0], f)
        self.blocks.setdefault("mlp", [
            "block mlp(u, hidden = 4):",
            "    dense hidden, activation = gelu",
            "    dense u",
            "    layernorm"])
        hidden = f", hidden = {self.num(self.ri(1, 6))}" if self.chance(0.5) else ""
        self.emit(indent, f"mlp {f.key}{hidden}")
        return (*x[:-1], f)

    def by_name(self, x):
        """A merge with a named tensor, or a jump back to one, when one fits."""
        equal = [n for n, s in self.tensors.items() if same(s, x)]
        if equal and self.chance(0.6):
            names = self.rng.sample(equal, min(len(equal), self.ri(1, 2)))
            op = self.rng.choice(ELEMENTWISE if len(names) == 1 else
                                 tuple(e for e in ELEMENTWISE if e != "subtract"))
            self.emit(1, f"{op} {', '.join(names)}")
            return x
        ax = len(x) - 1 if (self.cl or len(x) == 1) else 0
        fits = [n for n, s in self.tensors.items() if len(s) == len(x)
                and all(same((a,), (b,)) for i, (a, b) in enumerate(zip(s, x)) if i != ax)]
        if fits and self.chance(0.6):
            name = self.rng.choice(fits)
            self.emit(1, f"concat {name}")
            out = list(x)
            other = self.tensors[name][ax]
            out[ax] = D(x[ax] + other, ("sum", x[ax].key, other.key))
            return tuple(out)
        if self.tensors:
            name = self.rng.choice(list(self.tensors))
            self.emit(1, f"from {name}")
            return self.tensors[name]
        return x

    def statement(self, x):
        r = self.rng.random()
        if self.wte and same(x[-1:], self.wte[1:]) and self.chance(0.3):
            # an output head tied to the embedding (its kernel is the table, transposed)
            bias = ", bias = false" if self.chance(0.5) else ""
            self.emit(1, f"dense {self.wte[0].key}{bias}, tie = wte")
            return (*x[:-1], self.wte[0])
        if r < 0.1:
            return self.residual(1, x)
        if r < 0.18:
            return self.branches(1, x)
        if r < 0.28:
            return self.repeat(1, x)
        if r < 0.34:
            return self.block_call(1, x)
        if r < 0.38 and self.reusable:
            y = self.reuse(x)
            if y is not None:
                return y
        if r < 0.42:
            return self.siamese(x)
        if r < 0.42 and self.tensors:
            return self.by_name(x)
        if r < 0.45 and len(x) == 2:
            # attention over named tensors: the key and the value share their steps
            seqs = [(n, s) for n, s in self.tensors.items() if len(s) == 2]
            if seqs:
                kname, kshape = self.rng.choice(seqs)
                same_steps = [(n, s) for n, s in seqs if same(s[:1], kshape[:1])]
                layer = self.attention(x, ((kname, kshape), self.rng.choice(same_steps)))
                return self.named(layer, x)
        if r < 0.46:
            self.lets += 1
            value = self.dim(self.ri(1, 8))
            self.emit(1, f"let v{self.lets} = {value.key}")
            return self.named(self.dense(x, value), x, f"dense v{self.lets}")
        return self.named(self.any_layer(x), x)

    def named(self, layer, x, text=None):
        text = text or layer.text
        y = layer.fn(x)
        if self.chance(0.25):
            self.names += 1
            name = f"t{self.names}"
            text += f" as {name}"
            self.tensors[name] = y
            self.reusable[name] = (x, y)
        self.emit(1, text)
        return y

    def siamese(self, x):
        """One layer or block applied to a tensor, then again (``reuse``) to another
        path from the same tensor; the two results merged."""
        self.names += 1
        start, name = f"p{self.names}", f"t{self.names}"
        self.emit(1, f"identity as {start}")
        if self.chance(0.4):
            y = self._block_call(1, x)
            self.lines[-1] += f" as {name}"
        else:
            layer = self.any_layer(x)
            y = layer.fn(x)
            self.emit(1, f"{layer.text} as {name}")
        self.tensors[name] = y
        self.reusable[name] = (x, y)
        self.emit(1, f"from {start}")
        if self.chance(0.5):
            self.emit(1, self.simple(x).text)
        self.emit(1, f"reuse {name}")
        self.emit(1, f"{self.rng.choice(('add', 'concat', 'multiply'))} {name}")
        if self.lines[-1].strip().startswith("concat"):
            ax = len(y) - 1 if (self.cl or len(y) == 1) else 0
            y = tuple(D(2 * d, ("sum", d.key, d.key)) if i == ax else d
                      for i, d in enumerate(y))
        return y

    def reuse(self, x):
        """``reuse NAME``: a named layer or block applied again, to an input like the
        one it was made for (its weights are shared, counted once)."""
        fits = [n for n, (i, _) in self.reusable.items() if same(i, x)]
        if not fits:
            return None
        name = self.rng.choice(fits)
        self.emit(1, f"reuse {name}")
        return self.reusable[name][1]

    # ---- the model ------------------------------------------------------------------
    def inputs(self):
        kind = self.rng.choice(("vector", "vector", "sequence", "sequence", "tokens",
                                "tokens", "image", "image", "volume", "two"))
        if kind in ("vector", "two"):
            x = (self.dim(self.ri(1, 12)),)
            self.emit(1, f"input [{x[0].key}]" + (" as a" if kind == "two" else ""))
            if kind == "two":
                self.tensors["a"] = x
                m = self.dim(self.ri(1, 12))
                self.emit(1, f"input [{m.key}] as b")
                self.tensors["b"] = (m,)
                u = self.dim(self.ri(2, 8))
                self.emit(1, f"dense {u.key} as c")
                self.tensors["c"] = (u,)
                self.emit(1, "from a")
                self.emit(1, f"dense {u.key}")
                self.emit(1, self.rng.choice(("add c", "concat c", "multiply c")))
                x = (D(2 * u, ("sum", u.key, u.key)),) if "concat" in self.lines[-1] else (u,)
            return x
        if kind == "tokens":
            t, v, d = (self.dim(self.ri(*r)) for r in ((2, 10), (2, 30), (1, 8)))
            self.emit(1, f"input [{t.key}] as tokens")
            self.emit(1, f"embedding {v.key}, {d.key}" + (" as wte" if self.chance(0.6) else ""))
            if self.lines[-1].endswith("as wte"):
                self.wte = (v, d)
            return (t, d)
        rank = {"sequence": 1, "image": 2, "volume": 3}[kind]
        top = {1: 16, 2: 12, 3: 6}[rank]
        spatial = tuple(self.dim(self.ri(3, top)) for _ in range(rank))
        x = self.join(spatial, self.dim(self.ri(1, 4)))
        self.emit(1, f"input [{', '.join(d.key for d in x)}]")
        return x

    def model(self) -> str:
        if self.layout != ("channels_first" if self.torch else "channels_last"):
            self.emit(1, f"layout {self.layout}")
        x = self.inputs()
        for _ in range(self.ri(1, 8)):
            x = self.statement(x)
        if self.wte and same(x[-1:], self.wte[1:]) and self.chance(0.7):
            # an output head tied to the embedding (its kernel is the table, transposed)
            bias = ", bias = false" if self.chance(0.5) else ""
            self.emit(1, f"dense {self.wte[0].key}{bias}, tie = wte")
        elif self.chance(0.3):
            if len(x) > 1:
                x = self.named(self.flatten(x), x)
            self.emit(1, f"dense {self.num(self.ri(1, 10))}, activation = softmax")
        params = ", ".join(f"{k} = {v}" for k, v in self.params.items())
        head = [f"convention {self.convention}", ""]
        for body in self.blocks.values():
            head += body + [""]
        return "\n".join(head + [f"model random({params}):"] + self.lines) + "\n"



def generate(seed: int, convention: Optional[str] = None) -> str:
    """The source text of a random model for ``seed`` (and convention, if given)."""
    return Gen(seed, convention).model()
