"""The KV cache (symparam memory, the ``kv_cache`` metric) against the cache tensors
Hugging Face transformers really keeps: small LLaMA, Mistral (sliding window), Qwen2
and Gemma models from the zoo's files, built from config objects on the CPU, run on T
tokens with ``use_cache=True``; the keys' and values' numel summed over the cache's
layers must equal symparam's count at the same sizes, in every dtype's bytes.

Without transformers (or torch) the oracle tests skip, saying why; with ``CI`` set
they fail instead.
"""
from __future__ import annotations

import random

import pytest

import symparam
from symparam.analysis.memory import kv_cache_memory
from symparam.analysis.metrics import MetricOptions, metric_expr
from test_llm_attention import FAMILIES, ZOO, hf_model, random_sizes


def cached_numbers(transformers, config_class: str, sizes: dict, tokens: int,
                   batch: int) -> int:
    """The numbers transformers' cache holds after a forward pass over ``tokens``."""
    import torch
    model = hf_model(transformers, config_class, sizes, device="cpu").eval()
    ids = torch.randint(0, sizes["vocab"], (batch, tokens))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    return sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)


CASES = [(name, seed) for name in FAMILIES for seed in range(3)]


@pytest.mark.oracle
@pytest.mark.parametrize("name, seed", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_kv_cache_matches_transformers(hf_transformers, name, seed):
    rng = random.Random(seed * 7 + len(name))
    sizes = random_sizes(rng, name)
    tokens, batch = rng.randint(1, 40), rng.randint(1, 3)
    if name == "mistral_7b":  # the window both fuller and emptier than the context
        sizes["window"] = rng.choice([2, tokens, tokens + 1, rng.randint(1, 50)])
    file, config_class, _ = FAMILIES[name]
    s = symparam.analyze(ZOO / f"{file}.symp", model=name, values={**sizes, "T": tokens})
    for dtype, nbytes in (("fp32", 4), ("bf16", 2)):
        cache = kv_cache_memory(s, batch=batch, dtype=dtype)
        numbers = cached_numbers(hf_transformers, config_class, sizes, tokens, batch)
        assert s.value(cache.total) == numbers * nbytes, (sizes, tokens, batch)
        expr = metric_expr(s, "kv_cache", MetricOptions(dtype=dtype, batch=batch))
        assert s.value(expr) == numbers * nbytes


def test_kv_cache_formulas_read_as_published():
    """LLaMA-3-8B at 8k tokens in bf16: 32 layers x 8 kv heads x 128 x 2 (k and v)
    x 2 bytes = 128 KiB per token, 1 GiB for 8,192 tokens (the figure NVIDIA and
    Hugging Face quote); LLaMA-2-7B, without grouped-query attention, 4x that."""
    s = symparam.analyze(ZOO / "llama.symp", model="llama3_8b", values={"T": 8192})
    cache = kv_cache_memory(s, batch=1, dtype="bf16")
    assert s.value(cache.per_token) == 131072
    assert s.value(cache.total) == 2 ** 30
    s2 = symparam.analyze(ZOO / "llama.symp", model="llama2_7b", values={"T": 8192})
    assert s2.value(kv_cache_memory(s2, batch=1, dtype="bf16").total) == 4 * 2 ** 30


def test_encoders_keep_no_cache_and_cross_attention_is_cached_once():
    bert = symparam.analyze(ZOO / "bert_base.symp")
    assert kv_cache_memory(bert, batch=1).total == 0
    src = ("convention torch\nmodel m(S = 10, T = 6, d = 16):\n"
           "    input [S, d] as enc\n    input [T, d]\n"
           "    attention 4, kv_heads = 2, causal = true, bias = false as self_attn\n"
           "    attention 4, key = enc, value = enc, kv_heads = 4, bias = false as cross\n")
    s = symparam.analyze(src)
    m = kv_cache_memory(s, batch=1, dtype="fp32")
    # self: T steps x 2 heads x (4 + 4); cross: S steps x 4 heads x (4 + 4), fp32.
    assert s.value(m.total) == (6 * 2 * 8 + 10 * 4 * 8) * 4
    assert s.value(m.per_token) == 2 * 8 * 4  # only the self-attention grows
