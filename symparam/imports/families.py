"""The Hugging Face families ``symparam import`` writes, one entry each in
:data:`FAMILIES`: the transformers class the written file mirrors, the config class's
defaults for the keys it reads, and a function that reads a :class:`Config` and
returns the file's symbols, blocks and body.

Adding a family is one entry: reuse a writer (``_decoder`` covers LLaMA-like models)
or write one, naming each symbol after what it is (``d_model``, not ``hidden_size``)
and refusing, with :meth:`Config.refuse`, any setting the text would not count
exactly. ``tests/test_import_hf.py`` checks each family against the real model.

May import the foundations only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .config import Config

# transformers' activation names and the language's: the same weights, and the
# function itself where the names differ only by an approximation.
ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_new": "gelu",
               "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu", "relu": "relu",
               "tanh": "tanh"}
# transformers' rotary types whose buffers are inv_freq and original_inv_freq of
# rotary_dim / 2 numbers each (checked against the models in tests/test_import_hf.py).
ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "llama3", "longrope")
# The symbols' names, by the config key they come from: one name for one meaning
# across families (GPT-2's n_embd and LLaMA's hidden_size are both d_model).
NAMES = {"vocab_size": "vocab", "max_position_embeddings": "T", "n_positions": "T",
         "hidden_size": "d_model", "n_embd": "d_model", "num_hidden_layers": "n_layers",
         "n_layer": "n_layers", "num_attention_heads": "n_heads", "n_head": "n_heads",
         "num_key_value_heads": "n_kv_heads", "head_dim": "head_dim",
         "intermediate_size": "d_ff", "n_inner": "d_ff", "sliding_window": "window",
         "type_vocab_size": "n_types", "image_size": "image", "patch_size": "patch",
         "num_channels": "channels", "pooler_output_size": "d_pool", "d_model": "d_model",
         "num_layers": "n_layers", "num_decoder_layers": "n_decoder_layers",
         "num_heads": "n_heads", "d_kv": "head_dim", "d_ff": "d_ff",
         "relative_attention_num_buckets": "n_buckets", "num_local_experts": "n_experts",
         "num_experts_per_tok": "top_k"}


@dataclass(frozen=True)
class Symbol:
    """A symbol of the written model: its name, its value and the config key."""

    name: str
    value: int
    key: str


@dataclass(frozen=True)
class Written:
    """What a family writes: symbols, block definitions, the model's body lines and
    notes for the header comment."""

    symbols: tuple[Symbol, ...]
    blocks: str
    body: str
    notes: tuple[str, ...] = ()


@dataclass
class _Writer:
    """Collects the symbols a family reads from a config, in order, and its notes."""

    cfg: Config
    symbols: list[Symbol] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def size(self, key: str) -> int:
        """The value of ``key``, which becomes the symbol NAMES[key]."""
        value = self.cfg.size(key)
        self.symbols.append(Symbol(NAMES[key], value, key))
        return value

    def sizes(self, *keys: str) -> list[int]:
        return [self.size(key) for key in keys]

    def activation(self, key: str) -> str:
        word = self.cfg.word(key, ACTIVATIONS)
        if ACTIVATIONS[word] != word:
            self.notes.append(f"{key} {word}: written {ACTIVATIONS[word]} (the same weights)")
        return ACTIVATIONS[word]

    def kv_heads(self, heads: int, key: str = "num_key_value_heads") -> str:
        """``n_kv_heads`` (a symbol), or ``n_heads`` when the config has none."""
        if self.cfg.get(key, None) is None:
            return "n_heads"
        kv = self.size(key)
        if heads % kv:
            raise self.cfg.error(key, f"{key!r} = {kv} does not divide the "
                                      f"{heads} attention heads")
        return "n_kv_heads"

    def head_dim(self, d: int, heads: int, key: str | None = "head_dim") -> tuple[str, int]:
        """How each head's size is written: ``d_model / n_heads`` when it is that
        (transformers' default), else a symbol ``head_dim``. ``key`` None: the family
        has no such setting."""
        given = self.cfg.get(key, None) if key else None
        if given is None and d % heads == 0 or given == d // heads and d % heads == 0:
            return "d_model / n_heads", d // heads
        if given is None:  # transformers floors hidden_size / heads
            self.symbols.append(Symbol("head_dim", d // heads, "hidden_size // heads"))
            return "head_dim", d // heads
        assert key is not None  # a value was read under it
        return "head_dim", self.size(key)

    def rotary(self, head_dim: tuple[str, int]) -> str:
        """The ``rotary`` line: the rotated size of each head, its type checked."""
        params: Any = self.cfg.get("rope_parameters", None)
        key = "rope_parameters"
        if params is None:
            params, key = self.cfg.get("rope_scaling", None), "rope_scaling"
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise self.cfg.error(key, f"{key!r} must be an object or null")
        kind = params.get("rope_type", params.get("type", "default"))
        if kind not in ROPE_TYPES:
            raise self.cfg.error(key, f"the rotary type {kind!r} is not one symparam "
                                      f"can write yet (supported: {', '.join(ROPE_TYPES)})")
        where = key if "partial_rotary_factor" in params else "partial_rotary_factor"
        factor = params.get("partial_rotary_factor",
                            self.cfg.get("partial_rotary_factor", 1.0))
        exact = self.cfg.fraction(where, factor)
        expr, value = head_dim
        dim = int(value * factor)  # as transformers computes it
        if exact * value != dim or dim % 2:
            raise self.cfg.error(where, f"the rotated size {factor} x {value} = "
                                        f"{float(exact * value):g} is not an even whole number")
        if exact != 1:
            expr = f"{factor!r} * {expr}"
            self.notes.append(f"partial_rotary_factor {factor!r}: {dim} of each head's "
                              f"{value} numbers rotate")
        if kind != "default":
            self.notes.append(f"rotary type {kind}: the same buffers as the default")
        return f"rotary {expr} as rotary_emb"

    def tied(self) -> bool:
        return self.cfg.flag("tie_word_embeddings")

    def done(self, blocks: str, body: str) -> Written:
        return Written(tuple(self.symbols), blocks, body, tuple(self.notes))


def _params(*names: str) -> str:
    return ", ".join(n for n in names if n)


def _bias(flag: bool) -> str:
    return "true" if flag else "false"


# The keys of most language models, in the order their symbols are written.
_LM_KEYS = ("vocab_size", "max_position_embeddings", "hidden_size", "num_hidden_layers",
            "num_attention_heads")


# ---- the writers --------------------------------------------------------------------

def _decoder(cfg: Config, *, attention_bias: str | None = "attention_bias",
             qkv_bias: bool = False, mlp_bias: str | None = None, scaled: bool = False,
             window: str | None = None, experts: bool = False) -> Written:
    """LLaMA and the models built like it: RMSNorm, grouped-query attention with
    rotary positions, a gated MLP, a head tied or not."""
    w = _Writer(cfg)
    _, _, d, _, heads = w.sizes(*_LM_KEYS)
    kv = w.kv_heads(heads)
    head_dim = w.head_dim(d, heads)
    w.size("intermediate_size")
    act = w.activation("hidden_act")
    bias = "qkv" if qkv_bias else _bias(bool(attention_bias and cfg.flag(attention_bias)))
    mlp = _bias(bool(mlp_bias and cfg.flag(mlp_bias)))
    win = ""
    if window and cfg.optional_size(window) is not None:
        w.size(window)
        win = "window"
    moe = ""
    if experts:  # Mixtral: a mixture of experts in place of the MLP
        w.sizes("num_local_experts", "num_experts_per_tok")
        moe = "n_experts, top_k"
    block_params = _params("d_model", "n_heads", kv if kv != "n_heads" else "",
                           "head_dim" if head_dim[0] == "head_dim" else "", "d_ff", win, moe)
    attention = (f"attention n_heads, kv_heads = {kv}"
                 + (", head_dim = head_dim" if head_dim[0] == "head_dim" else "")
                 + f", bias = {bias}, causal = true"
                 + (", window = window" if win else "") + " as self_attn")
    mlp_lines = f"""\
dense d_ff, bias = {mlp}, activation = {act} as gate_proj
from post_attention_layernorm
dense d_ff, bias = {mlp} as up_proj
multiply gate_proj
dense d_model, bias = {mlp} as down_proj"""
    indent = " " * (12 if experts else 8)
    mlp_text = "\n".join(indent + line for line in mlp_lines.splitlines())
    if experts:
        mlp_text = "        moe n_experts, top_k = top_k:\n" + mlp_text
    blocks = f"""\
block decoder_layer({block_params}):
    residual:
        rmsnorm as input_layernorm
        {attention}
    residual:
        rmsnorm as post_attention_layernorm
{mlp_text}
"""
    body = f"""\
    input [T] as tokens
    embedding vocab, d_model{", scaled = true" if scaled else ""} as embed_tokens
    {w.rotary(head_dim)}
    repeat n_layers:
        decoder_layer {block_params} as layers
    rmsnorm as norm
    dense vocab, bias = false{", tie = embed_tokens" if w.tied() else ""} as lm_head
"""
    return w.done(blocks, body)


def _qwen2(cfg: Config) -> Written:
    cfg.refuse("use_sliding_window", (False,), "a window on some layers only "
               "(max_window_layers) is not written yet; the weights do not depend on it")
    return _decoder(cfg, attention_bias=None, qkv_bias=True)


def _phi(cfg: Config) -> Written:
    """Phi (phi-1, phi-1.5, phi-2): attention and MLP side by side on one LayerNorm,
    biases everywhere, rotary positions on part of each head."""
    cfg.refuse("qk_layernorm", (False,), "per-head LayerNorms of queries and keys are "
               "not written yet")
    w = _Writer(cfg)
    _, _, d, _, heads = w.sizes(*_LM_KEYS)
    kv = w.kv_heads(heads)
    head_dim = w.head_dim(d, heads, key=None)
    w.size("intermediate_size")
    act = w.activation("hidden_act")
    block_params = _params("d_model", "n_heads", kv if kv != "n_heads" else "", "d_ff")
    blocks = f"""\
block decoder_layer({block_params}):
    # The attention and the MLP both read the normalized input; their sum is added back.
    residual:
        layernorm as input_layernorm
        branches add:
            branch:
                attention n_heads, kv_heads = {kv}, bias = true, causal = true as self_attn
            branch:
                dense d_ff, activation = {act} as fc1
                dense d_model as fc2
"""
    body = f"""\
    input [T] as tokens
    embedding vocab, d_model as embed_tokens
    {w.rotary(head_dim)}
    repeat n_layers:
        decoder_layer {block_params} as layers
    layernorm as final_layernorm
    dense vocab{", tie = embed_tokens" if w.tied() else ""} as lm_head
"""
    return w.done(blocks, body)


def _gpt2(cfg: Config) -> Written:
    cfg.refuse("add_cross_attention", (False,), "GPT-2 with cross-attention is not "
               "written yet")
    w = _Writer(cfg)
    w.sizes("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")
    d_ff = "4 * d_model"
    if cfg.get("n_inner", None) is not None:
        w.size("n_inner")
        d_ff = "d_ff"
    act = w.activation("activation_function")
    blocks = f"""\
block gpt2_block(d_model, n_heads, d_ff):
    residual:
        layernorm as ln_1
        # c_attn and c_proj: query, key, value and output projections with biases.
        attention n_heads, d_model / n_heads, causal = true as attn
    residual:
        layernorm as ln_2
        dense d_ff, activation = {act} as c_fc
        dense d_model as c_proj
"""
    body = f"""\
    input [T] as tokens
    embedding vocab, d_model as wte
    position_embedding as wpe
    repeat n_layers:
        gpt2_block d_model, n_heads, {d_ff} as h
    layernorm as ln_f
    dense vocab, bias = false{", tie = wte" if w.tied() else ""} as lm_head
"""
    return w.done(blocks, body)


def _bert(cfg: Config) -> Written:
    """BERT and RoBERTa (the same modules): post-norm encoder layers and the pooler."""
    for key in ("is_decoder", "add_cross_attention"):
        cfg.refuse(key, (False,), "BERT as a decoder is not written yet")
    cfg.refuse("position_embedding_type", ("absolute",), "relative positions are not "
               "written yet")
    w = _Writer(cfg)
    w.sizes(*_LM_KEYS, "intermediate_size", "type_vocab_size")
    act = w.activation("hidden_act")
    w.notes.append("transformers also keeps two index buffers of T numbers each "
                   "(position_ids, token_type_ids), not written here")
    blocks = f"""\
block bert_layer(d_model, n_heads, d_ff):
    residual:
        # query, key, value and output projections with biases.
        attention n_heads, d_model / n_heads as attention
    layernorm as attention_norm
    residual:
        dense d_ff, activation = {act} as intermediate
        dense d_model as output
    layernorm as output_norm
"""
    body = """\
    input [T] as tokens
    input [T] as segments
    embedding n_types, d_model as token_type_embeddings
    from tokens
    embedding vocab, d_model as word_embeddings
    add token_type_embeddings
    position_embedding as position_embeddings
    layernorm as embeddings_norm
    repeat n_layers:
        bert_layer d_model, n_heads, d_ff as layer
    # The pooler: the first token's vector through a dense layer with tanh.
    take 0, axis = 1
    dense d_model, activation = tanh as pooler
"""
    return w.done(blocks, body)


def _vit(cfg: Config) -> Written:
    """ViT: patches by a strided convolution, a class token, pre-norm encoder layers,
    a final LayerNorm and the pooler."""
    w = _Writer(cfg)
    w.sizes("image_size", "patch_size", "num_channels", *_LM_KEYS[2:], "intermediate_size")
    pooled = "d_model"
    if cfg.get("pooler_output_size", None) not in (None, cfg.get("hidden_size")):
        w.size("pooler_output_size")
        pooled = "d_pool"
    act = w.activation("hidden_act")
    pool_act = w.activation("pooler_act")
    bias = ("bias = true" if cfg.flag("qkv_bias")
            else "bias = false, out_bias = true")
    blocks = f"""\
block vit_layer(d_model, n_heads, d_ff):
    residual:
        layernorm as layernorm_before
        attention n_heads, kv_heads = n_heads, {bias} as attention
    residual:
        layernorm as layernorm_after
        dense d_ff, activation = {act} as intermediate
        dense d_model as output
"""
    body = f"""\
    input [channels, image, image] as pixels
    conv2d d_model, patch, stride = patch as patch_embeddings
    permute [2, 3, 1]
    reshape [-1, d_model] as patches
    # The class token: one learned vector of d_model, written as the one row of a
    # table looked up at index 0, and put before the patches.
    input [1] as cls_index
    embedding 1, d_model as cls_token
    concat patches, axis = 1
    position_embedding as position_embeddings
    repeat n_layers:
        vit_layer d_model, n_heads, d_ff as layer
    layernorm as layernorm
    take 0, axis = 1
    dense {pooled}, activation = {pool_act} as pooler
"""
    return w.done(blocks, body)


def _t5(cfg: Config) -> Written:
    """T5 (and T5 v1.1, gated): encoder and decoder sharing the token table, RMS
    norms, attention without biases, one relative-position table per stack."""
    cfg.refuse("is_decoder", (False,), "T5's decoder alone is not written yet")
    w = _Writer(cfg)
    w.size("vocab_size")
    w.symbols.append(_t5_length(cfg))
    w.sizes("d_model", "num_layers")
    dec_layers = "n_layers"
    if cfg.get("num_decoder_layers", None) not in (None, cfg.get("num_layers")):
        w.size("num_decoder_layers")
        dec_layers = "n_decoder_layers"
    w.sizes("num_heads", "d_kv", "d_ff", "relative_attention_num_buckets")
    proj = cfg.get("feed_forward_proj")
    parts = proj.split("-") if isinstance(proj, str) else []
    if not (len(parts) == 1 or len(parts) == 2 and parts[0] == "gated") \
            or parts[-1] not in ACTIVATIONS:
        raise cfg.error("feed_forward_proj", f"'feed_forward_proj' is {str(proj)[:60]!r}, "
                                             "not an activation or 'gated-' one")
    gated, act = len(parts) == 2, ACTIVATIONS[parts[-1]]
    if gated:
        ff = f"""\
        dense d_ff, bias = false, activation = {act} as wi_0
        from layer_norm
        dense d_ff, bias = false as wi_1
        multiply wi_0"""
    else:
        ff = f"        dense d_ff, bias = false, activation = {act} as wi"
    attention = "attention n_heads, kv_heads = n_heads, head_dim = head_dim, bias = false"
    blocks = f"""\
block self_attention(n_heads, head_dim, causal):
    residual:
        rmsnorm as layer_norm
        {attention}, causal = causal as SelfAttention

block feed_forward(d_model, d_ff):
    residual:
        rmsnorm as layer_norm
{ff}
        dense d_model, bias = false as wo
"""
    body = f"""\
    input [T] as input_ids
    # Each stack's first layer keeps a table of n_heads biases per relative-position
    # bucket, used by all its layers: written once per stack, looked up at the
    # buckets of each (query, key) pair.
    input [T, T] as encoder_buckets
    embedding n_buckets, n_heads as encoder_relative_attention_bias
    from input_ids
    embedding vocab, d_model as shared_embedding
    repeat n_layers:
        self_attention n_heads, head_dim, false as encoder_self_attention
        feed_forward d_model, d_ff as encoder_ff
    rmsnorm as encoder_final_layer_norm
    input [T] as decoder_input_ids
    input [T, T] as decoder_buckets
    embedding n_buckets, n_heads as decoder_relative_attention_bias
    from decoder_input_ids
    reuse shared_embedding as decoder_embed_tokens
    repeat {dec_layers}:
        self_attention n_heads, head_dim, true as decoder_self_attention
        residual:
            rmsnorm as cross_attention_norm
            {attention}, key = encoder_final_layer_norm, value = encoder_final_layer_norm as EncDecAttention
        feed_forward d_model, d_ff as decoder_ff
    rmsnorm as decoder_final_layer_norm
    dense vocab, bias = false{", tie = shared_embedding" if w.tied() else ""} as lm_head
"""
    return w.done(blocks, body)


def _t5_length(cfg: Config) -> Symbol:
    """T5's input length: not a setting of the model (relative positions), so the
    legacy n_positions when the file has it, else 512 as in the T5 paper."""
    if cfg.get("n_positions", None) is not None:
        return Symbol("T", cfg.size("n_positions"), "n_positions")
    return Symbol("T", 512, "(no key: the input length, 512 as in the T5 paper)")


# Families symparam knows it cannot write yet, and why (the message says so).
NOT_YET = {
    "whisper": "its encoder's position table is frozen (requires_grad False), and the "
               "language has no frozen weights yet",
    "qwen2_moe": "its mixture-of-experts MLP (experts' own width, a gated shared expert) "
                 "is not written by import yet",
    "deepseek_v3": "its latent attention (MLA) is not in the language yet",
}


@dataclass(frozen=True)
class Family:
    """One family: the transformers class the written file mirrors, the config
    class's defaults for the keys the writer reads, and the writer."""

    builds: str
    defaults: Mapping[str, Any]
    write: Callable[[Config], Written]


_LLAMA_LIKE = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                   num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                   hidden_act="silu", max_position_embeddings=2048,
                   tie_word_embeddings=False, head_dim=None)
_BERT = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
             num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
             max_position_embeddings=512, type_vocab_size=2)

# model_type -> family. One entry per family; tests/test_import_hf.py checks each
# against transformers.
FAMILIES: dict[str, Family] = {
    "llama": Family("LlamaForCausalLM", dict(_LLAMA_LIKE, attention_bias=False,
                                             mlp_bias=False),
                    lambda c: _decoder(c, mlp_bias="mlp_bias")),
    "mistral": Family("MistralForCausalLM", dict(_LLAMA_LIKE, intermediate_size=14336,
                                                 num_key_value_heads=8,
                                                 max_position_embeddings=131072,
                                                 sliding_window=4096),
                      lambda c: _decoder(c, attention_bias=None, window="sliding_window")),
    "mixtral": Family("MixtralForCausalLM", dict(_LLAMA_LIKE, intermediate_size=14336,
                                                 num_key_value_heads=8,
                                                 max_position_embeddings=131072,
                                                 sliding_window=None, num_local_experts=8,
                                                 num_experts_per_tok=2),
                      lambda c: _decoder(c, attention_bias=None, window="sliding_window",
                                         experts=True)),
    "qwen2": Family("Qwen2ForCausalLM", dict(_LLAMA_LIKE, vocab_size=151936,
                                             intermediate_size=22016,
                                             max_position_embeddings=32768,
                                             num_key_value_heads=32), _qwen2),
    "gemma": Family("GemmaForCausalLM", dict(_LLAMA_LIKE, vocab_size=256000,
                                             hidden_size=3072, intermediate_size=24576,
                                             num_hidden_layers=28, num_attention_heads=16,
                                             num_key_value_heads=16, head_dim=256,
                                             hidden_act="gelu_pytorch_tanh",
                                             max_position_embeddings=8192,
                                             tie_word_embeddings=True, attention_bias=False),
                    lambda c: _decoder(c, scaled=True)),
    "phi": Family("PhiForCausalLM", dict(_LLAMA_LIKE, vocab_size=51200, hidden_size=2048,
                                         intermediate_size=8192, num_hidden_layers=24,
                                         hidden_act="gelu_new", partial_rotary_factor=0.5),
                  _phi),
    "gpt2": Family("GPT2LMHeadModel", dict(vocab_size=50257, n_positions=1024, n_embd=768,
                                           n_layer=12, n_head=12, n_inner=None,
                                           activation_function="gelu_new",
                                           tie_word_embeddings=True), _gpt2),
    "bert": Family("BertModel", _BERT, _bert),
    "roberta": Family("RobertaModel", dict(_BERT, vocab_size=50265), _bert),
    "t5": Family("T5ForConditionalGeneration", dict(
        vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
        num_decoder_layers=None, num_heads=8, relative_attention_num_buckets=32,
        feed_forward_proj="relu", tie_word_embeddings=True), _t5),
    "vit": Family("ViTModel", dict(hidden_size=768, num_hidden_layers=12,
                                   num_attention_heads=12, intermediate_size=3072,
                                   hidden_act="gelu", image_size=224, patch_size=16,
                                   num_channels=3, qkv_bias=True, pooler_output_size=None,
                                   pooler_act="tanh"), _vit),
}
