"""Non-embedding parameters (the ``non_embedding`` and ``embedding`` metrics), against
Hugging Face transformers' own idea of a model's embeddings: its input and output
embedding modules (``get_input_embeddings``, ``get_output_embeddings``) and
``num_parameters(exclude_embeddings=True)``, which leaves out every ``nn.Embedding``
(token and position tables) but keeps an untied output head; and against a published
count: Pythia-160M (GPT-2 small's shape, d = 768, 12 layers) has 85,056,000
non-embedding parameters (Biderman et al. 2023, Table 1).
"""
from __future__ import annotations

import pytest

import symparam
from symparam.analysis.metrics import embedding_params, metric_expr
from test_llm_attention import FAMILIES, ZOO, hf_model


def test_gpt2_small_non_embedding_is_pythias_published_count():
    s = symparam.analyze(ZOO / "gpt2.symp", model="gpt2")
    assert s.value(s.total) == 124_439_808
    assert s.value(metric_expr(s, "non_embedding")) == 85_056_000
    e = embedding_params(s)
    assert (e.tables, e.heads) == (("wte", "wpe"), ("lm_head",))  # lm_head tied: adds 0
    assert s.value(e.total) == 50257 * 768 + 1024 * 768


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_llm_embeddings_match_transformers(hf_transformers, name):
    file, config_class, sizes = FAMILIES[name]
    model = hf_model(hf_transformers, config_class, sizes)
    s = symparam.analyze(ZOO / f"{file}.symp", model=name, values=sizes)
    e = embedding_params(s)
    # transformers leaves out its nn.Embedding tables, keeps an untied head.
    assert s.value(s.total - e.tables_total) == model.num_parameters(exclude_embeddings=True)
    inp, out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    embedding = inp.numel() + (0 if out is inp else out.numel())
    assert s.value(e.total) == embedding
    assert s.value(metric_expr(s, "non_embedding")) == model.num_parameters() - embedding


def test_a_model_without_embeddings_has_none():
    s = symparam.analyze(ZOO / "resnet50.symp")
    assert metric_expr(s, "embedding") == 0
    assert metric_expr(s, "non_embedding") == s.total
