"""The helper classes an exported PyTorch model may need, as source text: PyTorch has
no module for these (a channels-last wrapper, learned positions added to a stream,
LLM attention with shared key/value heads, ...). Only those a model uses are written
into its file. This module never imports torch: it holds text."""
from __future__ import annotations

HELPERS: dict[str, str] = {
    "ChannelsLast": '''
class ChannelsLast(nn.Module):
    """Runs a channels-first module on a channels-last tensor."""

    def __init__(self, inner, back=True):
        super().__init__()
        self.inner, self.back = inner, back

    def forward(self, x):
        y = self.inner(x.movedim(-1, 1))
        return y.movedim(1, -1) if self.back else y
''',
    "OnAxis": '''
class OnAxis(nn.Module):
    """Runs a module that acts on axis 1 (BatchNorm) on another axis."""

    def __init__(self, inner, axis):
        super().__init__()
        self.inner, self.axis = inner, axis

    def forward(self, x):
        return self.inner(x.movedim(self.axis, 1)).movedim(1, self.axis)
''',
    "ScaledEmbedding": '''
class ScaledEmbedding(nn.Embedding):
    """An embedding multiplied by sqrt(dim), kept as a one-number buffer (Gemma)."""

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__(num_embeddings, embedding_dim)
        self.register_buffer("embed_scale", torch.tensor(embedding_dim ** 0.5),
                             persistent=False)

    def forward(self, x):
        return super().forward(x) * self.embed_scale
''',
    "PositionEmbedding": '''
class PositionEmbedding(nn.Module):
    """Learned positions (a length x dim table) added to a (T, dim) stream."""

    def __init__(self, length, dim):
        super().__init__()
        self.table = nn.Embedding(length, dim)

    def forward(self, x):
        return x + self.table.weight[: x.shape[-2]]
''',
    "Rotary": '''
class Rotary(nn.Module):
    """The rotary embedding's state, as transformers keeps it: inv_freq and
    original_inv_freq buffers of dim / 2 frequencies. The stream passes unchanged."""

    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)

    def forward(self, x):
        return x
''',
    "Attention": '''
class Attention(nn.Module):
    """nn.MultiheadAttention on (query, key, value), batch first, returning its
    output only."""

    def __init__(self, mha):
        super().__init__()
        self.mha = mha

    def forward(self, q, k=None, v=None):
        k = q if k is None else k
        v = k if v is None else v
        return self.mha(q, k, v, need_weights=False)[0]
''',
    "LLMAttention": '''
class LLMAttention(nn.Module):
    """The attention of transformers' LLMs (LlamaAttention and kin): q_proj, k_proj,
    v_proj and o_proj, kv_heads key/value heads shared by the query heads, optional
    norms of the queries and keys."""

    def __init__(self, dim, heads, kv_heads, head_dim, key_dim, value_dim,
                 biases=(False, False, False, False), qk_norm=None, causal=False):
        super().__init__()
        self.h, self.kv, self.k, self.causal = heads, kv_heads, head_dim, causal
        self.q_proj = nn.Linear(dim, heads * head_dim, bias=biases[0])
        self.k_proj = nn.Linear(key_dim, kv_heads * head_dim, bias=biases[1])
        self.v_proj = nn.Linear(value_dim, kv_heads * head_dim, bias=biases[2])
        self.o_proj = nn.Linear(heads * head_dim, dim, bias=biases[3])
        if qk_norm is not None:
            self.q_norm, self.k_norm = qk_norm(head_dim), qk_norm(head_dim)

    def forward(self, x, kx=None, vx=None):
        kx = x if kx is None else kx
        vx = kx if vx is None else vx
        b, t = x.shape[:2]
        q = self.q_proj(x).view(b, t, self.h, self.k)
        k = self.k_proj(kx).view(b, kx.shape[1], self.kv, self.k)
        v = self.v_proj(vx).view(b, vx.shape[1], self.kv, self.k)
        if hasattr(self, "q_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        k, v = (z.repeat_interleave(self.h // self.kv, dim=1) for z in (k, v))
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.h * self.k))
''',
    "Recurrent": '''
class Recurrent(nn.Module):
    """A batch-first RNN, LSTM or GRU returning its output sequence, or its last step."""

    def __init__(self, rnn, sequences=True):
        super().__init__()
        self.rnn, self.sequences = rnn, sequences

    def forward(self, x):
        y = self.rnn(x)[0]
        return y if self.sequences else y[:, -1]
''',
}
