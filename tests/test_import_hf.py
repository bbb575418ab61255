"""`symparam import` of Hugging Face configs: for every family, a config written by
transformers itself (``to_json_file``: only the values that differ from the defaults,
as on the Hub), at the published default sizes and at small random ones, is imported,
analyzed under convention torch, and its total, trainable and buffer counts compared
with the real model built from the same config on the meta device. Also the errors:
unknown families, missing or bad keys, settings the language cannot write, hostile
files.

Without transformers (or torch) the oracle tests skip, saying why; with ``CI`` set
they fail instead.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import symparam
from symparam.cli import main
from symparam.errors import SymparamError
from symparam.imports import import_hf
from symparam.imports.families import FAMILIES
from symparam.limits import MAX_CONFIG_NESTING

from conftest import require_frameworks


@pytest.fixture(scope="module")
def transformers(hf_transformers):  # conftest: skips (fails in CI) without it
    return hf_transformers


# model_type -> (config class, Auto class of the model import mirrors)
CLASSES = {
    "llama": ("LlamaConfig", "AutoModelForCausalLM"),
    "mistral": ("MistralConfig", "AutoModelForCausalLM"),
    "mixtral": ("MixtralConfig", "AutoModelForCausalLM"),
    "qwen2": ("Qwen2Config", "AutoModelForCausalLM"),
    "gemma": ("GemmaConfig", "AutoModelForCausalLM"),
    "phi": ("PhiConfig", "AutoModelForCausalLM"),
    "gpt2": ("GPT2Config", "AutoModelForCausalLM"),
    "bert": ("BertConfig", "AutoModel"),
    "roberta": ("RobertaConfig", "AutoModel"),
    "vit": ("ViTConfig", "AutoModel"),
    "t5": ("T5Config", "AutoModelForSeq2SeqLM"),
}


def _heads(rng: random.Random) -> tuple[int, int, int]:
    heads = rng.choice([1, 2, 3, 4, 6, 8])
    kv = rng.choice([g for g in range(1, heads + 1) if heads % g == 0])
    return heads, kv, heads * 2 * rng.randint(1, 5)  # d_model / heads even (rotary)


def random_config(model_type: str, rng: random.Random) -> dict:
    """Small sizes the family's config class accepts, and its switches flipped."""
    heads, kv, d = _heads(rng)
    layers, ff, vocab = rng.randint(1, 3), rng.randint(1, 70), rng.randint(10, 300)
    tie = rng.random() < 0.5
    if model_type in ("llama", "mistral", "qwen2", "gemma", "mixtral"):
        kw = dict(vocab_size=vocab, hidden_size=d, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=kv, intermediate_size=ff,
                  tie_word_embeddings=tie, max_position_embeddings=rng.randint(8, 64))
        if model_type == "llama":
            kw.update(attention_bias=rng.random() < 0.5, mlp_bias=rng.random() < 0.5)
        if model_type == "gemma":
            kw.update(head_dim=2 * rng.randint(1, 9), hidden_size=rng.randint(2, 40),
                      attention_bias=rng.random() < 0.5)
        if model_type == "mixtral":
            experts = rng.randint(1, 6)
            kw.update(num_local_experts=experts, num_experts_per_tok=rng.randint(1, experts),
                      sliding_window=rng.choice([None, rng.randint(1, 64)]))
        if model_type == "mistral":
            kw.update(sliding_window=rng.choice([None, rng.randint(1, 64)]))
        return kw
    if model_type == "phi":
        return dict(vocab_size=vocab, hidden_size=heads * 10, num_hidden_layers=layers,
                    num_attention_heads=heads, intermediate_size=ff,
                    tie_word_embeddings=tie, partial_rotary_factor=rng.choice([0.2, 0.4, 1]))
    if model_type == "gpt2":
        return dict(vocab_size=vocab, n_embd=d, n_layer=layers, n_head=heads,
                    n_positions=rng.randint(4, 80), tie_word_embeddings=tie,
                    n_inner=rng.choice([None, ff]))
    if model_type in ("bert", "roberta"):
        return dict(vocab_size=vocab, hidden_size=d, num_hidden_layers=layers,
                    num_attention_heads=heads, intermediate_size=ff,
                    max_position_embeddings=rng.randint(4, 80),
                    type_vocab_size=rng.randint(1, 4))
    if model_type == "vit":
        patch = rng.randint(2, 8)
        return dict(hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
                    intermediate_size=ff, patch_size=patch, image_size=patch * rng.randint(1, 5),
                    num_channels=rng.randint(1, 4), qkv_bias=rng.random() < 0.5,
                    pooler_output_size=rng.choice([None, rng.randint(1, 20)]))
    if model_type == "t5":
        return dict(vocab_size=vocab, d_model=rng.randint(2, 40), d_kv=rng.randint(1, 12),
                    num_heads=heads, num_layers=layers, d_ff=ff, tie_word_embeddings=tie,
                    num_decoder_layers=rng.choice([None, rng.randint(1, 3)]),
                    relative_attention_num_buckets=rng.randint(1, 40),
                    feed_forward_proj=rng.choice(["relu", "gated-gelu", "gated-silu"]))
    raise AssertionError(model_type)


CASES = [(t, "published", {}) for t in CLASSES] + [
    (t, f"random{seed}", random_config(t, random.Random(seed * 131 + i)))
    for i, t in enumerate(CLASSES) for seed in range(3)]


def hf_counts(transformers, model_type: str, cfg) -> tuple[int, int, int]:
    import torch
    auto = getattr(transformers, CLASSES[model_type][1])
    with torch.device("meta"):
        model = auto.from_config(cfg)
    params = list(model.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in model.buffers()))


def counts(s) -> tuple[int, int, int]:
    return s.value(s.total), s.value(s.trainable), s.value(s.buffers)


@pytest.mark.oracle
@pytest.mark.parametrize("model_type, which, kw", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_import_counts_as_transformers(transformers, tmp_path, model_type, which, kw):
    cfg = getattr(transformers, CLASSES[model_type][0])(**kw)
    cfg.to_json_file(str(tmp_path / "config.json"))  # only what differs from the defaults
    imported = import_hf(tmp_path)  # a folder holding config.json
    assert imported.builds == FAMILIES[model_type].builds
    s = symparam.analyze(imported.text)
    want = hf_counts(transformers, model_type, cfg)
    if model_type in ("bert", "roberta"):
        # Said in the file: position_ids and token_type_ids, T numbers each, unwritten.
        assert "position_ids" in imported.text and "token_type_ids" in imported.text
        want = (want[0], want[1], want[2] - 2 * cfg.max_position_embeddings)
    assert counts(s) == want, imported.text


@pytest.mark.oracle
@pytest.mark.parametrize("rope", [
    {"rope_type": "linear", "factor": 2.0},
    {"rope_type": "dynamic", "factor": 2.0},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32},
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
     "original_max_position_embeddings": 32},
    {"rope_type": "longrope", "short_factor": [1.0] * 4, "long_factor": [2.0] * 4,
     "original_max_position_embeddings": 32},
], ids=lambda r: r["rope_type"])
def test_rotary_types_keep_the_buffers(transformers, tmp_path, rope):
    kw = dict(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
              intermediate_size=20, max_position_embeddings=64,
              rope_parameters=dict(rope, rope_theta=10000.0))
    cfg = transformers.LlamaConfig(**kw)
    cfg.to_json_file(str(tmp_path / "config.json"))
    s = symparam.analyze(import_hf(tmp_path / "config.json").text)
    assert counts(s) == hf_counts(transformers, "llama", cfg)


def test_old_style_rope_scaling_is_read(tmp_path):
    """Configs on the Hub before transformers 5 say rope_scaling (and phi-2 a top-level
    partial_rotary_factor)."""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "phi", "hidden_size": 2560, "num_attention_heads": 32,
        "partial_rotary_factor": 0.4, "rope_scaling": None}))
    s = symparam.analyze(import_hf(tmp_path).text)
    assert s.value(s.buffers) == 2 * 16  # 0.4 x 80 = 32 rotated: inv_freq of 16, twice
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "llama", "rope_scaling": {"type": "su"}}))
    with pytest.raises(SymparamError, match=r"line 1.*rotary type 'su'.*supported: default"):
        import_hf(tmp_path)


@pytest.mark.oracle
@pytest.mark.parametrize("model_type", list(CLASSES))
def test_the_table_defaults_are_transformers(transformers, model_type):
    """A key a config file leaves out takes the class's default: the table's must be
    transformers' (None: computed from other keys, checked by the counts above)."""
    cfg = getattr(transformers, CLASSES[model_type][0])()
    for key, value in FAMILIES[model_type].defaults.items():
        if value is not None and hasattr(cfg, key):
            assert getattr(cfg, key) == value, key


# ---- what the file says ----------------------------------------------------------------

def test_symbols_are_the_configs_hyperparameters(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "intermediate_size": 14336, "max_position_embeddings": 8192}))
    imported = import_hf(tmp_path / "config.json", name="llama3_8b")
    assert imported.symbols == {"vocab": 128256, "T": 8192, "d_model": 4096,
                                "n_layers": 32, "n_heads": 32, "n_kv_heads": 8,
                                "d_ff": 14336}
    assert imported.text.startswith("# Imported by `symparam import` from")
    assert "model llama3_8b(vocab = 128256, T = 8192, d_model = 4096" in imported.text
    s = symparam.analyze(imported.text)
    assert s.value(s.total) == 8_030_261_248  # Meta-Llama-3-8B, published
    # The formulas stay in the user's symbols.
    assert {str(x) for x in s.total.free_symbols} == {"vocab", "d_model", "n_layers",
                                                      "n_heads", "n_kv_heads", "d_ff"}


def test_cli_writes_the_file_and_json(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    out = tmp_path / "gpt2.symp"
    r = CliRunner().invoke(main, ["import", str(tmp_path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    s = symparam.analyze(out.read_text())
    assert s.value(s.total) == 124_439_808  # gpt2, published
    r = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "--json"])
    doc = json.loads(r.stdout)
    assert list(doc)[:5] == ["schema", "command", "model", "convention", "symbols"]
    assert doc["command"] == "import" and doc["symbols"]["d_model"] == 768
    assert doc["text"] == out.read_text()


# ---- errors ----------------------------------------------------------------------------

def _err(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "config.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    r = CliRunner().invoke(main, ["import", str(path)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.output.startswith("error: ")
    return r.output


@pytest.mark.parametrize("text, message", [
    ('{"model_type": "qwen2_moe"}', r"line 1, column 2: model_type 'qwen2_moe' is not one "
                                    r"symparam imports yet: its mixture-of-experts MLP .*"
                                    r"\(supported: llama, mistral, mixtral"),
    ('{"model_type": "bart"}', r"model_type 'bart' is not one symparam imports yet "
                               r"\(supported: llama, mistral"),
    ('{"model_type": "t5", "feed_forward_proj": "gated-relu-x"}', r"'feed_forward_proj'"),
    ('{"hidden_size": 8}', r"no 'model_type'.*supported: llama"),
    ('{"model_type": "llama",\n "hidden_size": -8}',
     r"line 2, column 2: 'hidden_size' must be a positive whole number, not -8"),
    ('{"model_type": "llama",\n "hidden_size": 8.5}', r"line 2.*not 8.5"),
    ('{"model_type": "llama",\n "hidden_size": true}', r"line 2.*not true"),
    ('{"model_type": "llama", "vocab_size": null}', r"'vocab_size' must be a positive"),
    ('{"model_type": "llama", "num_attention_heads": 6, "num_key_value_heads": 4}',
     r"'num_key_value_heads' = 4 does not divide the 6 attention heads"),
    ('{"model_type": "llama", "hidden_act": "relu2"}', r"'hidden_act' is \"relu2\", which "
                                                        r"symparam cannot write"),
    ('{"model_type": "llama", "tie_word_embeddings": "yes"}', r"must be true or false"),
    ('{"model_type": "gpt2", "add_cross_attention": true}', r"cross-attention"),
    ('{"model_type": "bert", "is_decoder": true}', r"'is_decoder' = true"),
    ('{"model_type": "qwen2", "use_sliding_window": true}', r"max_window_layers"),
    ('{"model_type": "phi", "qk_layernorm": true}', r"'qk_layernorm'"),
    ('{"model_type": "phi", "partial_rotary_factor": 0.3}',
     r"rotated size 0.3 x 64 = 19.2 is not an even whole number"),
    ('{"model_type": "phi", "partial_rotary_factor": 2}', r"in \(0, 1\]"),
    ('{"model_type": "llama", "hidden_size": 1' + "0" * 2000 + '}', r"not a config|digits"),
    ('{"model_type": "llama", "vocab_size": NaN}', r"NaN is not a number JSON allows"),
    ('{"model_type": "llama", "model_type": "gpt2"}', r"the key 'model_type' is given twice"),
    ('{"model_type": "llama",\n  "vocab_size": 3,,}', r"line 2, column 19: not valid JSON"),
    ("[1, 2]", r"one JSON object"),
    ("[" * (MAX_CONFIG_NESTING + 1), r"nested more than MAX_CONFIG_NESTING"),
    (b"\xff\xfe{}", r"not UTF-8"),
])
def test_bad_configs_get_one_clear_message(tmp_path, text, message):
    assert re.search(message, _err(tmp_path, text), re.S), _err(tmp_path, text)


def test_missing_and_huge_files(tmp_path, monkeypatch):
    r = CliRunner().invoke(main, ["import", str(tmp_path)])
    assert r.exit_code == 2 and "holds no config.json" in r.output
    r = CliRunner().invoke(main, ["import", str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "no such file" in r.output
    import symparam.imports.config as config
    monkeypatch.setattr(config, "MAX_CONFIG_BYTES", 10)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    r = CliRunner().invoke(main, ["import", str(tmp_path)])
    assert r.exit_code == 2 and "MAX_CONFIG_BYTES" in r.output


# ---- docs/import-export.md: its sessions are real ----------------------------------------

IMPORT_MD = Path(__file__).resolve().parent.parent / "docs" / "import-export.md"


def _import_md() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The files the page shows (a JSON block after `<!-- file: NAME -->`) and its
    console sessions, in order."""
    text = IMPORT_MD.read_text(encoding="utf-8")
    files = dict(re.findall(r"<!-- file: (\S+) -->\n```(?:json|python)\n(.*?)```", text, re.S))
    sessions = re.findall(r"```console\n\$ symparam (.*?)\n(.*?)```", text, re.S)
    return files, sessions


def test_import_md_sessions_are_real(tmp_path, monkeypatch):
    import shlex
    files, sessions = _import_md()
    assert files and sessions
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for command, output in sessions:  # in order: a later one reads what -o wrote
        if "--from torch" in command:
            require_frameworks()  # conftest: skips (fails in CI) without torch
        result = CliRunner().invoke(main, shlex.split(command))
        assert result.output.rstrip("\n") == output.rstrip("\n"), (
            "docs/import-export.md is out of date for `symparam " + command + "`")


def test_import_md_python_example(tmp_path, monkeypatch):
    import doctest
    files, _ = _import_md()
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "config.json").write_text(files["tiny/config.json"])
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(IMPORT_MD), module_relative=False)
    assert result.attempted > 0 and result.failed == 0


def test_every_import_option_is_documented():
    text = IMPORT_MD.read_text(encoding="utf-8") + (
        Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    for param in main.commands["import"].params:
        for opt in param.opts:
            if opt.startswith("-"):
                assert f"`{opt}" in text, opt


def test_json_fields_are_the_documented_ones(tmp_path):
    from test_cli_json import HEAD, _documented_fields
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    r = CliRunner().invoke(main, ["import", str(tmp_path), "--json"])
    doc = json.loads(r.stdout)
    assert list(doc)[:5] == HEAD and list(doc)[5:] == _documented_fields("import")


def test_names_and_paths_cannot_break_the_file(tmp_path):
    """A folder name with a line end stays inside the header comment; a --name that is
    a keyword or not an identifier becomes one."""
    folder = tmp_path / "evil\nmodel x():"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2", "n_layer": 1}')
    imported = import_hf(folder, name="model")
    assert "evil?model" in imported.text and imported.name == "t_model"
    s = symparam.analyze(imported.text)
    assert s.name == "t_model"
    assert import_hf(folder / "config.json", name="7b-chat").name == "m_7b_chat"
