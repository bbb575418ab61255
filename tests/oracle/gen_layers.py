"""Random layers that fit a shape: one method per layer kind, each returning a
:class:`Layer` (its line and what it does to a shape) or None when it cannot fit."""
from __future__ import annotations

import math

from .gen_base import (ACTIVATION_LAYERS, ACTIVATION_NAMES, Base, D, Layer, _list,
                       _out, _out_ceil, lit, same)


class Layers(Base):
    """The layer kinds the generator writes (see :mod:`oracle.generate`)."""

    # ---- layers: each returns a Layer, or None when it does not fit -----------------
    def dense(self, x, units=None):
        u = units if units is not None else self.dim(self.ri(1, 12))
        kw = ""
        if self.chance(0.3):
            kw += f", activation = {self.rng.choice(ACTIVATION_NAMES)}"
        if self.chance(0.2):
            kw += ", bias = false"
        return Layer(f"{self.rng.choice(('dense', 'linear'))} {u.key}{kw}",
                     lambda s: (*s[:-1], u) if len(s) >= 1 else None)

    def conv(self, x, keep=False, groups_ok=True):
        rank = len(x) - 1
        spatial, c = self.split(x)
        k = tuple(self.ri(1, min(3, n)) for n in spatial)
        stride = (1,) * rank if keep or self.chance(0.6) else tuple(
            self.ri(1, 2) for _ in spatial)
        dil = (1,) * rank
        if not keep and self.chance(0.2) and (self.torch or max(stride) == 1):
            dil = tuple(self.ri(1, 2) for _ in spatial)
        if keep:
            pad = "same"
        elif self.torch:
            options = ["valid", "int", "list"] + (["same"] if max(stride) == 1 else [])
            pad = self.rng.choice(options)
            if pad == "int":
                pad = self.ri(0, 2)
            elif pad == "list":
                pad = tuple(self.ri(0, 1) for _ in spatial)
        else:
            pad = self.rng.choice(("valid", "same") + (("causal",) if rank == 1 else ()))
        groups = 1
        if c > 1 and groups_ok and self.chance(0.25):
            groups = self.rng.choice([g for g in range(2, c + 1) if c % g == 0])
        f = self.dim(groups * self.ri(1, max(1, 8 // groups)))
        pads = (pad,) * rank if not isinstance(pad, tuple) else pad

        def fn(s):
            sp, ch = self.split(s)
            if len(s) != rank + 1 or ch % groups:
                return None
            out = tuple(_out(n, kk, st, d, p) for n, kk, st, d, p in
                        zip(sp, k, stride, dil, pads))
            return self.join(out, f) if min(out) >= 1 else None
        if fn(x) is None:
            return None
        kernel = str(k[0]) if len(set(k)) == 1 and self.chance(0.6) else _list(k)
        kw = ""
        if max(stride) > 1 or self.chance(0.1):
            kw += f", stride = {_list(stride) if len(set(stride)) > 1 else stride[0]}"
        if pad != "valid" or self.chance(0.2):
            kw += f", padding = {_list(pad) if isinstance(pad, tuple) else pad}"
        if max(dil) > 1:
            kw += f", dilation = {_list(dil)}"
        if groups > 1:
            kw += f", groups = {groups}"
        if self.chance(0.15):
            kw += ", bias = false"
        if self.chance(0.2):
            kw += f", activation = {self.rng.choice(ACTIVATION_NAMES)}"
        return Layer(f"conv{rank}d {f.key}, {kernel}{kw}", fn)

    def _window(self, x, rank):
        """kernel, stride and padding of a depthwise or separable convolution."""
        spatial, _ = self.split(x)
        k = tuple(self.ri(1, min(3, n)) for n in spatial)
        stride = (1,) * rank if self.chance(0.6) else tuple(self.ri(1, 2) for _ in spatial)
        pad = self.rng.choice(("valid", "same") if not self.torch or max(stride) == 1
                              else ("valid", 1))
        pads = (pad,) * rank
        kw = f", stride = {_list(stride)}" if max(stride) > 1 else ""
        kw += f", padding = {pad}" if pad != "valid" else ""
        return k, stride, pads, kw

    def depthwise(self, x, separable=False):
        rank = len(x) - 1
        if rank > 2:
            return None
        k, stride, pads, kw = self._window(x, rank)
        m = self.ri(1, 2)
        f = self.dim(self.ri(1, 8))
        if m > 1 or self.chance(0.2):
            kw += f", depth_multiplier = {m}"
        if self.chance(0.2):
            kw += ", bias = false"

        def fn(s):
            sp, c = self.split(s)
            if len(s) != rank + 1:
                return None
            out = tuple(_out(n, kk, st, 1, p) for n, kk, st, p in zip(sp, k, stride, pads))
            ch = f if separable else D(c * m, ("mul", c.key, m))
            return self.join(out, ch) if min(out) >= 1 else None
        if separable:
            return Layer(f"separable_conv{rank}d {f.key}, {_list(k)}{kw}", fn)
        return Layer(f"depthwise_conv{rank}d {_list(k)}{kw}", fn)

    def transpose(self, x):
        rank = len(x) - 1
        spatial, c = self.split(x)
        if max(spatial) > 12:
            return None
        k = tuple(self.ri(1, 3) for _ in spatial)
        s = self.ri(1, 2)
        f = self.dim(self.ri(1, 6))
        kw, op = "", None
        if s > 1:
            kw += f", stride = {s}"
        if self.torch:
            pad = self.ri(0, 1)
            kw += f", padding = {pad}" if pad or self.chance(0.3) else ""
        else:
            pad = self.rng.choice(("valid", "same"))
            kw += f", padding = {pad}" if pad != "valid" or self.chance(0.3) else ""
        if s > 1 and self.chance(0.4):
            op = self.ri(0, s - 1)
            kw += f", output_padding = {op}"
        groups = 1
        if self.torch and c > 1 and self.chance(0.2):
            groups = self.rng.choice([g for g in range(2, c + 1) if c % g == 0])
            f = self.dim(groups * self.ri(1, 3))
            kw += f", groups = {groups}"

        def length(n, kk):
            eff = kk
            if pad == "valid":
                return (n - 1) * s + (max(eff, s) if op is None else eff + op)
            if pad == "same":
                return n * s if op is None else (n - 1) * s + eff % 2 + op
            return (n - 1) * s - 2 * pad + eff + (op or 0)

        def fn(y):
            sp, ch = self.split(y)
            if len(y) != rank + 1 or ch % groups:
                return None
            out = tuple(D(length(n, kk), ("transpose", n.key, kk, s, pad, op))
                        for n, kk in zip(sp, k))
            return self.join(out, f) if min(out) >= 1 else None
        return Layer(f"conv{rank}d_transpose {f.key}, {_list(k)}{kw}", fn)

    def adaptive(self, x):
        rank = len(x) - 1
        spatial, _ = self.split(x)
        size = tuple(lit(self.ri(1, n)) for n in spatial)
        op = self.rng.choice(("max", "avg"))

        def fn(s):
            return self.join(size, self.split(s)[1]) if len(s) == rank + 1 else None
        return Layer(f"adaptive_{op}pool{rank}d {_list(size)}", fn)

    def upsample(self, x):
        rank = len(x) - 1
        spatial, _ = self.split(x)
        if max(spatial) > 10:
            return None
        f = tuple(self.ri(1, 2) for _ in spatial)
        if self.torch and self.chance(0.3):
            size = tuple(lit(self.ri(1, 12)) for _ in spatial)
            return Layer(f"upsample{rank}d size = {_list(size)}",
                         lambda s: self.join(size, self.split(s)[1]))
        text = f"upsample{rank}d {_list(f) if rank > 1 else f[0]}"
        return Layer(text, lambda s: self.join(tuple(
            n if k == 1 else D(n * k, ("up", n.key, k)) for n, k in zip(self.split(s)[0], f)),
            self.split(s)[1]))

    def groupnorm(self, x):
        c = self.split(x)[1]
        groups = self.rng.choice([g for g in range(1, c + 1) if c % g == 0])
        kw = ""
        if self.torch and self.chance(0.3):
            kw = self.rng.choice((", affine = false", ", bias = false"))
        elif not self.torch and self.chance(0.3):
            kw = self.rng.choice((", center = false", ", scale = false"))
        return Layer(f"groupnorm {groups}{kw}", lambda s: s if s == x else None)

    def rmsnorm(self, x):
        kw = " axis = [-2, -1]" if len(x) > 1 and self.chance(0.3) else ""
        if self.torch and self.chance(0.2):
            kw += ("," if kw else "") + " elementwise_affine = false"
        return Layer("rmsnorm" + kw, lambda s: s)

    def prelu(self, x):
        if self.torch:
            n = self.split(x)[1] if self.chance(0.5) else 1
            return Layer("prelu" + (f" num_parameters = {n}" if n != 1 else ""),
                         lambda s: s if self.split(s)[1] == n or n == 1 else None)
        shared = [i + 1 for i in range(len(x)) if self.chance(0.4)]
        return Layer("prelu" + (f" shared_axes = {_list(shared)}" if shared else ""),
                     lambda s: s if len(s) == len(x) else None)

    def permute(self, x):
        order = list(range(1, len(x) + 1))
        self.rng.shuffle(order)
        return Layer(f"permute {_list(order)}", lambda s: tuple(s[i - 1] for i in order)
                     if len(s) == len(order) else None)

    def take(self, x):
        axis = self.ri(1, len(x))
        index = self.ri(-x[axis - 1], x[axis - 1] - 1)
        if self.chance(0.3):
            axis -= len(x) + 1
        text = f"take {index}" + (f", axis = {axis}" if axis != 1 or self.chance(0.3) else "")
        i = axis - 1 if axis > 0 else len(x) + axis
        return Layer(text, lambda s: tuple(s[:i]) + tuple(s[i + 1:])
                     if len(s) == len(x) and abs(index) <= s[i] - (index >= 0) else None)

    def pool(self, x):
        rank = len(x) - 1
        spatial, _ = self.split(x)
        op = self.rng.choice(("max", "avg"))
        k = tuple(self.ri(1, 3) for _ in spatial)
        stride = None if self.chance(0.5) else tuple(self.ri(1, 3) for _ in spatial)
        st = stride or k
        ceil, dil, pad = False, (1,) * rank, "valid"
        if self.torch:
            pad = tuple(self.ri(0, kk // 2) for kk in k) if self.chance(0.4) else 0
            ceil = self.chance(0.3)
            if op == "max" and self.chance(0.2):
                dil = tuple(self.ri(1, 2) for _ in spatial)
        else:
            pad = self.rng.choice(("valid", "same"))
        pads = pad if isinstance(pad, tuple) else (pad,) * rank

        def fn(s):
            sp, _ = self.split(s)
            if len(s) != rank + 1:
                return None
            if ceil:
                out = tuple(_out_ceil(*a) for a in zip(sp, k, st, dil, pads))
            else:
                out = tuple(_out(*a) for a in zip(sp, k, st, dil, pads))
            return self.join(out, self.split(s)[1]) if min(out) >= 1 else None
        if fn(x) is None:
            return None
        text = f"{op}pool{rank}d {k[0] if len(set(k)) == 1 else _list(k)}"
        if stride:
            text += f", stride = {_list(stride)}"
        if pad not in ("valid", 0) or self.chance(0.15):
            text += f", padding = {_list(pad) if isinstance(pad, tuple) else pad}"
        if ceil:
            text += ", ceil_mode = true"
        if max(dil) > 1:
            text += f", dilation = {_list(dil)}"
        return Layer(text, fn)

    def global_pool(self, x):
        rank = len(x) - 1
        keep = self.chance(0.25)
        op = self.rng.choice(("max", "avg"))
        text = f"global_{op}pool{rank}d" + (" keepdims = true" if keep else "")

        def fn(s):
            if len(s) != rank + 1:
                return None
            return (self.join((lit(1),) * rank, self.split(s)[1]) if keep
                    else (self.split(s)[1],))
        return Layer(text, fn)

    def zeropad(self, x):
        rank = len(x) - 1
        form = self.ri(0, 2)
        if form == 0:
            p = self.ri(0, 2)
            pads, text = ((p, p),) * rank, str(p)
        elif form == 1:
            ps = [self.ri(0, 2) for _ in range(rank)]
            pads, text = tuple((p, p) for p in ps), _list(ps)
            if rank == 1:  # a 1-D pair means (left, right)
                pads, text = ((ps[0], ps[0]),), str(ps[0])
        else:
            pads = tuple((self.ri(0, 2), self.ri(0, 2)) for _ in range(rank))
            text = ("[" + ", ".join(_list(p) for p in pads) + "]" if rank > 1
                    else _list(pads[0]))

        def fn(s):
            sp, c = self.split(s)
            return self.join(tuple(n if a + b == 0 else D(n + a + b, ("pad", n.key, a + b))
                                   for n, (a, b) in zip(sp, pads)), c)
        return Layer(f"zeropad{rank}d {text}", fn)

    def recurrent(self, x):
        if len(x) != 2:
            return None
        kind = self.rng.choice(("simple_rnn", "rnn", "lstm", "gru"))
        u = self.dim(self.ri(1, 6))
        kw, out = [], u
        layers = self.ri(1, 2) if self.chance(0.3) else 1
        if layers > 1:
            kw.append(f"num_layers = {layers}")
            if self.chance(0.3):
                kw.append("dropout = 0.1")
        if kind == "lstm" and self.torch and u > 1 and self.chance(0.3):
            p = self.ri(1, u - 1)
            kw.append(f"proj_size = {p}")
            out = lit(p)
        if kind == "gru" and not self.torch and self.chance(0.3):
            kw.append("reset_after = false")
        if kind in ("simple_rnn", "rnn") and self.chance(0.3):
            kw.append("activation = relu")
        if self.chance(0.15):
            kw.append("bias = false")
        if self.chance(0.3):
            kw.append("bidirectional = true")
            mode = "concat" if self.torch else self.rng.choice(("concat", "sum", "mul", "ave"))
            if mode != "concat" or self.chance(0.3):
                kw.append(f"merge_mode = {mode}")
            if mode == "concat":
                out = D(2 * out, ("sum", out.key, out.key))
        seq = self.torch  # each framework's default: Keras the last step, PyTorch all
        if self.chance(0.5):
            seq = self.chance(0.5)
            kw.append(f"return_sequences = {'true' if seq else 'false'}")
        text = f"{kind} {u.key}" + (", " + ", ".join(kw) if kw else "")
        return Layer(text, lambda s: ((s[0], out) if seq else (out,)) if len(s) == 2 else None)

    def attention(self, x, memory=None):
        """Multi-head attention of ``x`` over itself, or over named tensors."""
        if len(x) != 2:
            return None
        t_, d = x
        kw = []
        steps = t_
        if memory:
            (kname, kshape), (vname, vshape) = memory
            kw += [f"value = {vname}"] if kname == vname else (
                [f"key = {kname}", f"value = {vname}"] if self.chance(0.5)
                else [f"value = {vname}", f"key = {kname}"])
            steps = kshape[0]
        # As LLMs use it: grouped-query heads, a head size of its own. Keras's
        # GroupQueryAttention needs the key and value as wide as the query.
        if self.chance(0.3) and (self.torch or not memory or all(
                same((shape[-1],), (d,)) for _, shape in memory)):
            return self.llm_attention(x, kw, steps, memory)
        if self.torch:
            heads = self.rng.choice([h for h in range(1, d + 1) if d % h == 0])
            text, out = f"attention {heads}", d
            if self.chance(0.2):
                kw.append("add_bias_kv = true")
        else:
            heads, k = self.ri(1, 3), self.ri(1, 4)
            text, out = f"attention {heads}, {k}", d
            if self.chance(0.3):
                kw.append(f"value_dim = {self.ri(1, 4)}")
            if self.chance(0.3):
                out = self.dim(self.ri(1, 6))
                kw.append(f"output_shape = {out.key}")
        if self.chance(0.2):
            kw.append("bias = false")
        if self.chance(0.2) and steps == t_ and (not memory or same((steps,), (t_,))):
            kw.append("causal = true")
        return Layer(text + (", " + ", ".join(kw) if kw else ""),
                     lambda s: (s[0], out) if len(s) == 2 else None)

    def llm_attention(self, x, kw, steps, memory):
        """Grouped-query attention (PyTorch: transformers' q/k/v/o_proj layout; Keras:
        GroupQueryAttention), with per-projection biases and q/k norms in PyTorch."""
        t_, d = x
        heads = self.ri(1, 4)
        divisors = [g for g in range(1, heads + 1) if heads % g == 0]
        kw.append(f"kv_heads = {self.rng.choice(divisors)}")
        text = f"attention {heads}, {self.ri(1, 5)}"
        if self.torch and d % heads == 0 and self.chance(0.3):
            text = f"attention {heads}"  # head size d / heads
        if self.torch:
            kw += self.rng.choice([[], ["bias = false"], ["bias = qkv"], ["k_bias = false"],
                                   ["bias = false", "out_bias = true"]])
            if self.chance(0.3):
                kw.append(f"qk_norm = {self.rng.choice(('rmsnorm', 'layernorm'))}")
        elif self.chance(0.2):
            kw.append("bias = false")
        if self.chance(0.2) and steps == t_ and (not memory or same((steps,), (t_,))):
            kw.append("causal = true")
        if self.chance(0.2):
            kw.append(f"window = {self.ri(1, 4)}")
        return Layer(text + ", " + ", ".join(kw), lambda s: s if len(s) == 2 else None)

    def rotary(self, x):
        dim = 2 * self.ri(1, 4)
        return Layer(f"rotary {dim}", lambda s: s)

    def window_attention(self, x):
        """Swin's window attention on (H, W, C): windows that need not divide H and W
        (both frameworks pad), a shift smaller than the window, optional biases."""
        c = int(self.split(x)[1])
        heads = self.rng.choice([h for h in range(1, min(c, 4) + 1) if c % h == 0])
        window = (self.ri(1, 4), self.ri(1, 4))
        text = f"window_attention {heads}, " + (
            str(window[0]) if window[0] == window[1] else _list(window))
        kw = []
        if self.chance(0.6):
            kw.append(f"shift = {_list(tuple(self.ri(0, m - 1) for m in window))}")
        kw += [f"{b} = false" for b in ("qkv_bias", "proj_bias") if self.chance(0.2)]
        return Layer(text + (", " + ", ".join(kw) if kw else ""),
                     lambda s: s if same(s, x) else None)

    def space_to_depth(self, x):
        """B x B neighbourhoods to channels; pad = true when B does not divide H, W."""
        spatial, c = self.split(x)
        b = self.ri(1, 3)
        pad = any(int(n) % b for n in spatial) or self.chance(0.3)

        def fn(s):
            sp, ch = self.split(s)
            if len(s) != 3 or (not pad and any(int(n) % b for n in sp)):
                return None
            out = tuple(D(-(-int(n) // b), ("space_to_depth", getattr(n, "key", None), b))
                        for n in sp)
            return self.join(out, D(b * b * int(ch), ("times", getattr(ch, "key", None),
                                                      b * b)))
        return Layer(f"space_to_depth {b}" + (", pad = true" if pad else ""), fn)

    def axial_attention(self, x):
        """Attention along one or two axes of a rank-3 or rank-4 tensor (Keras's
        attention_axes; PyTorch's attention on each line)."""
        rank = len(x)
        axes = sorted(self.rng.sample(range(1, rank), self.ri(1, rank - 1)))
        axis = (f"axis = {axes[0] - rank - 1 if self.chance(0.3) else axes[0]}"
                if len(axes) == 1 else f"axes = {_list(tuple(axes))}")
        heads = self.ri(1, 4)
        d = int(x[-1])
        if self.torch and d % heads:
            heads = 1
        key_dim = "" if self.torch else f", {self.ri(1, 5)}"
        kw = [axis] + (["bias = false"] if self.chance(0.2) else [])
        return Layer(f"attention {heads}{key_dim}, " + ", ".join(kw),
                     lambda s: s if same(s, x) else None)
    def mla(self, x):
        """Multi-head latent attention (PyTorch only: DeepSeek's DeepseekV3Attention)."""
        if not self.torch or len(x) != 2:
            return None
        kw = [f"kv_rank = {self.ri(1, 6)}", f"qk_nope_dim = {self.ri(1, 4)}",
              f"qk_rope_dim = {2 * self.ri(1, 2)}", f"v_dim = {self.ri(1, 4)}"]
        if self.chance(0.6):
            kw.insert(0, f"q_rank = {self.ri(1, 6)}")
        kw += [w for w in ("bias = true", "causal = true") if self.chance(0.3)]
        if self.chance(0.2):
            kw.append(f"window = {self.ri(1, 4)}")
        return Layer(f"mla {self.ri(1, 3)}, " + ", ".join(kw),
                     lambda s: s if len(s) == 2 else None)

    def position(self, x):
        t_ = x[-2]
        length = self.ri(t_, t_ + 4) if self.chance(0.5) else None
        return Layer("position_embedding" + (f" length = {length}" if length else ""),
                     lambda s: s if len(s) == len(x) and s[-2] <= (length or s[-2]) else None)

    def instancenorm(self, x):
        # PyTorch refuses to normalize a single position per channel (it needs more
        # than 1 spatial element when it uses the input's statistics).
        if math.prod(self.split(x)[0]) == 1:
            return None
        kw = [w for w in ("affine = true", "track_running_stats = true") if self.chance(0.4)]
        return Layer("instancenorm" + (" " + ", ".join(kw) if kw else ""),
                     lambda s: s if len(s) == len(x) and math.prod(self.split(s)[0]) > 1
                     else None)

    def normalization(self, x):
        """Keras's Normalization: per-axis statistics (non-trainable), or one in all."""
        r = self.rng.random()
        if r < 0.5:
            return Layer("normalization", lambda s: s)
        if r < 0.7:
            return Layer("normalization axis = none", lambda s: s)
        axis = self.ri(1, len(x))
        return Layer(f"normalization axis = {axis}", lambda s: s if len(s) == len(x) else None)

    def batchnorm(self, x):
        kw = []
        if len(x) > 1 and self.chance(0.25) and len(x) <= 4:
            axis = self.ri(1, len(x))
            kw.append(f"axis = {axis if self.chance(0.5) else axis - len(x) - 1}")
        if self.torch:
            if self.chance(0.2):
                kw.append("affine = false")
            if self.chance(0.2):
                kw.append("track_running_stats = false")
        else:
            if self.chance(0.2):
                kw.append("center = false")
            if self.chance(0.2):
                kw.append("scale = false")
        if self.chance(0.1):
            kw.append("momentum = 0.9" if not self.torch else "momentum = 0.1")
        return Layer(self.rng.choice(("batchnorm", "batch_normalization"))
                     + (" " + ", ".join(kw) if kw else ""), lambda s: s)

    def layernorm(self, x):
        kw = []
        if len(x) > 1 and self.chance(0.3):
            kw.append("axis = [-2, -1]")
        elif len(x) > 1 and not self.torch and self.chance(0.2):
            kw.append(f"axis = {self.ri(1, len(x))}")
        if self.torch:
            kw += self.rng.choice(([], [], ["elementwise_affine = false"], ["bias = false"]))
        else:
            kw += [w for w in ("center = false", "scale = false") if self.chance(0.2)]
        if self.chance(0.1):
            kw.append("epsilon = 0.001")
        return Layer("layernorm" + (" " + ", ".join(kw) if kw else ""), lambda s: s)

    def reshape(self, x):
        total = math.prod(x)
        divisors = [d for d in range(2, total) if total % d == 0 and d <= 16]
        if not divisors or total > 4096:
            return Layer("reshape [-1]" if self.chance(0.5) else f"reshape [{total}]",
                         lambda s: (D(math.prod(s), None),))
        a = self.rng.choice(divisors)
        if self.chance(0.5):
            target, text = (lit(a), D(total // a, None)), f"reshape [{a}, -1]"
        else:
            target, text = (lit(total // a), lit(a)), f"reshape [{total // a}, {a}]"

        def fn(s):
            return target if math.prod(s) == total else None
        return Layer(text, fn)

    def simple(self, x):
        """A layer without weights that keeps the shape."""
        r = self.rng.random()
        if r < 0.45:
            return Layer(self.rng.choice(ACTIVATION_LAYERS), lambda s: s)
        if r < 0.7:
            return Layer(f"activation {self.rng.choice(ACTIVATION_NAMES)}", lambda s: s)
        if r < 0.9:
            return Layer(f"dropout {self.rng.choice(('0.1', '0.25', '0.5'))}", lambda s: s)
        return Layer("identity", lambda s: s)

    def flatten(self, x):
        return Layer("flatten", lambda s: (D(math.prod(s), ("prod",) + tuple(
            d.key for d in s)),))

    def any_layer(self, x) -> Layer:
        """A random layer that fits the shape ``x``."""
        rank = len(x)
        table = [(self.dense, 3), (self.simple, 3), (self.batchnorm, 1.5),
                 (self.layernorm, 1)]
        table += [(self.rmsnorm, 0.4), (self.prelu, 0.4)]
        if rank == 1:
            table += [(self.reshape, 0.7)]
        if rank >= 2:
            table += [(self.permute, 0.3), (self.take, 0.3)]
        if rank == 2:
            table += [(self.recurrent, 4), (self.attention, 2), (self.position, 1),
                      (self.rotary, 0.3)]
        if 2 <= rank <= 4:
            table += [(self.conv, 4), (self.pool, 3), (self.zeropad, 1),
                      (self.global_pool, 0.7), (self.flatten, 0.5), (self.transpose, 1),
                      (self.adaptive, 0.7), (self.upsample, 0.7), (self.groupnorm, 0.7),
                      (self.depthwise, 1), (lambda s: self.depthwise(s, True), 1)]
            if self.torch:
                table += [(self.instancenorm, 0.6)]
        if not self.torch:
            table += [(self.normalization, 0.3)]
        if rank == 3:
            table += [(self.window_attention, 0.6), (self.space_to_depth, 0.4)]
        if rank in (3, 4):
            table += [(self.axial_attention, 0.4)]
        if rank == 2 and self.torch:
            table += [(self.mla, 0.4)]
        if rank > 4:
            table = [(self.flatten, 1)]
        fns, weights = zip(*table)
        for _ in range(20):
            layer = self.rng.choices(fns, weights)[0](x)
            if layer is not None and layer.fn(x) is not None:
                return layer
        return self.simple(x)

    def keep_layer(self, x, change="any") -> Layer:
        """A layer that keeps the spatial axes. With ``change`` "any" it may change the
        channels (a convolution) or the last axis (a dense); with "channels", only the
        channel axis; with "none", nothing."""
        r = self.rng.random()
        if change != "none" and 2 <= len(x) <= 4 and r < 0.4:
            return self.conv(x, keep=True)
        dense_ok = change == "any" or (change == "channels" and (self.cl or len(x) == 1))
        if dense_ok and r < 0.6:
            return self.dense(x)
        if r < 0.75:
            return self.batchnorm(x)
        if r < 0.85:
            return self.layernorm(x)
        return self.simple(x)

    def pointwise(self, x, f: D) -> Layer:
        rank = len(x) - 1
        bias = ", bias = false" if self.chance(0.2) else ""
        return Layer(f"conv{rank}d {f.key}, 1{bias}",
                     lambda s: self.join(self.split(s)[0], f))

    def written(self, x) -> tuple:
        """``x`` with its channel and last dimensions as written sizes (so layers can
        produce them exactly)."""
        out = list(x)
        for i in {len(x) - 1, len(x) - 1 if self.cl else 0}:
            if not isinstance(out[i].key, str):
                out[i] = self.dim(out[i])
        return tuple(out)

    def to_shape(self, x, target) -> list:
        """Layers turning ``x`` into ``target`` when they differ only in the channel
        axis and the last axis (a 1x1 convolution, a dense); those dimensions of
        ``target`` must be written sizes."""
        out = []
        if 2 <= len(x) <= 4 and not same(self.split(x)[1:], self.split(target)[1:]):
            out.append(self.pointwise(x, self.split(target)[1]))
            x = out[-1].fn(x)
        if not same(x[-1:], target[-1:]):
            out.append(self.dense(x, units=target[-1]))
        return out
