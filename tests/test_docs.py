"""Every ```symparam example in the README and docs/ analyzes without error, and the
numbers the docs state next to them are the ones symparam computes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import symparam

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"```symparam\n(.*?)```", re.S)


def _examples():
    for doc in DOCS:
        for i, block in enumerate(FENCE.findall(doc.read_text(encoding="utf-8"))):
            yield pytest.param(block, id=f"{doc.name}-{i}")


@pytest.mark.parametrize("source", list(_examples()))
def test_doc_example_analyzes(source):
    doc = symparam.parse(source)
    for name in doc.models:
        stats = symparam.analyze(doc, model=name)
        assert stats.layers


def test_language_md_numbers():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = FENCE.findall(text)
    mlp = symparam.analyze(blocks[0])
    assert (mlp.value(mlp.total), mlp.value(mlp.trainable), mlp.value(mlp.non_trainable)) == \
        (2140752, 2139728, 1024)
    assert "2,140,752" in text
    vgg = symparam.analyze(next(b for b in blocks if "model vgg16" in b))
    assert vgg.value(vgg.total) == 138357544  # keras.applications.VGG16
    assert "138,357,544" in text


def test_readme_python_example(monkeypatch):
    import doctest

    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False)
    assert result.attempted > 0 and result.failed == 0


def test_readme_console_output_is_real():
    import shlex

    from click.testing import CliRunner

    from symparam.cli import main

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sessions = re.findall(r"```console\n\$ symparam (.*?)\n(.*?)```", text, re.S)
    assert sessions
    for command, output in sessions:
        result = CliRunner().invoke(main, shlex.split(command))
        assert result.exit_code == 0
        assert result.output.rstrip("\n") == output.rstrip("\n"), command


def test_api_md_examples_run(monkeypatch):
    import doctest

    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False)
    assert result.attempted >= 10 and result.failed == 0


def test_adding_a_layer_recipe_works():
    """The worked layer in docs/adding-a-layer.md registers, parses, counts as the
    page says in both conventions, and has a card; then it is removed again."""
    from symparam import cards
    from symparam.layers import REGISTRY

    text = (ROOT / "docs" / "adding-a-layer.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    try:
        exec(compile(code, "adding-a-layer.md", "exec"), {})
        src = "model m(H = 32, W = 32, C = 16):\n    input [H, W, C]\n    channel_scale\n"
        keras = symparam.analyze(src)
        torch = symparam.analyze(src, convention="torch")
        assert str(keras.total) == "2*C" and keras.value(keras.total) == 32
        assert [w.name for w in torch.layers[-1].weights] == ["weight", "bias"]
        lean = symparam.analyze(src.replace("channel_scale", "channel_scale bias = false"))
        assert lean.value(lean.total) == 16
        assert "`2*C` = 32 parameters" in text
        card = cards.card("channel_scale")
        assert card.keras.available and card.torch.available
        # Both frameworks count 2C, each in its own layout: nothing to report.
        assert card.differences == (), card.differences
    finally:
        REGISTRY.pop("channel_scale", None)
