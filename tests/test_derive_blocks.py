"""Derivations by block (issue 13): equal block instances derived once with their
number, each explanation given once, the model added up by part, and documents short
enough for a textbook section (at most 4 pages for ResNet-50, GPT-2 and BERT).

The numbers come from outside the code: the stage counts of ResNet-50 in the paper's
Table 1 (3, 4, 6, 3 bottleneck blocks, the first of each stage with a projection), the
published counts of Keras's ResNet50 (25,636,712) and of transformers' GPT-2
(124,439,808) and BERT-base (109,482,240), quoted in the zoo files.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import sympy
from click.testing import CliRunner

from symparam import analyze, parse_file
from symparam.cli import main
from symparam.limits import MAX_WORKED_LAYERS
from symparam.render.blocks import by_block
from symparam.render.document import derivation
from symparam.render.facts import model_facts
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")
PUBLISHED = {"resnet50": 25_636_712, "gpt2": 124_439_808, "bert_base": 109_482_240}


def _stats(name: str):
    return analyze(parse_file(ZOO / f"{name}.symp"), model=name)


def _view(name: str):
    stats = _stats(name)
    return stats, by_block(stats, model_facts(stats, compare=False))


def _blocks(view) -> dict:
    return {p.block.block: p.block for p in view.parts if p.what == "block"}


def test_resnet50_blocks_stand_as_often_as_the_paper_stacks_them():
    stats, view = _view("resnet50")
    blocks = _blocks(view)
    assert list(blocks) == ["projection_block", "identity_block"]
    stages = {"conv2": 3, "conv3": 4, "conv4": 6, "conv5": 3}  # Table 1 of the paper
    assert [g.label for g in blocks["projection_block"].groups] == list(stages)
    assert [g.copies for g in blocks["projection_block"].groups] == [1, 1, 1, 1]
    assert [g.copies for g in blocks["identity_block"].groups] == [n - 1 for n in
                                                                  stages.values()]
    # the parts add up to the model, and to Keras's count
    assert stats.value(view.total.expr) == stats.value(stats.total) == PUBLISHED["resnet50"]
    assert [r.label for r in view.rows] == ["conv1", "batch_normalization", *stages,
                                            "predictions"]


@pytest.mark.parametrize("name", ["gpt2", "bert_base"])
def test_a_transformer_block_is_derived_once_and_stands_L_times(name):
    stats, view = _view(name)
    (block,) = _blocks(view).values()
    (group,) = block.groups
    assert group.copies == sympy.Symbol("L", integer=True, positive=True)
    # one block of width d: 4d(d + 1) attention, 2 x 2d norms, d(4d + 1) + 4d(d + 1) MLP
    d = sympy.Symbol("d", integer=True, positive=True)
    assert sympy.expand(group.one.expr - (12 * d ** 2 + 13 * d)) == 0
    assert stats.value(view.total.expr) == PUBLISHED[name]


def test_each_explanation_appears_once():
    text = derivation(_stats("resnet50"), "markdown")
    # BatchNormalization's moving statistics, in Keras and in PyTorch, and the shape
    # rules of a convolution and of a pooling
    for said in ("so Keras lists them as non-trainable parameters",
                 "so PyTorch keeps them as buffers"):
        assert text.count(said) == 1, said
    assert text.count("Each output size follows") == 2  # conv1, then pool1; no block's
    # by layer, the walk says it at each batch norm it shows: the stem's, and per stage
    # 4 in the projection block and 3 in the identity blocks (kept rolled)
    walk = derivation(_stats("resnet50"), "markdown", by="layer")
    assert walk.count("so Keras lists them as non-trainable parameters") == 1 + 4 * (4 + 3)


def test_the_stage_table_adds_up_to_the_total():
    text = derivation(_stats("resnet50"), "text")
    assert "conv4: projection_block + 5 identity_block, 7,129,088" in text
    assert "Total: 25,636,712" in text


def _conv_chain(n: int) -> str:
    return ("model m(H = 2 ** 64, W = 2 ** 64, C = 3):\n    input [H, W, C]\n"
            + "    conv2d 8, 3, stride = 2, padding = same\n" * n)


def test_a_run_of_equal_layers_is_derived_once(tmp_path):
    stats = analyze(_conv_chain(300))
    view = by_block(stats, model_facts(stats, compare=False))
    assert [(p.what, p.count) for p in view.parts] == [("layer", 1), ("run", 299)]
    # 8 filters of 3 x 3 x C, C = 3 for the first and 8 after
    assert stats.value(view.total.expr) == 8 * (9 * 3 + 1) + 299 * 8 * (9 * 8 + 1)


def test_a_long_walk_layer_by_layer_is_refused_with_the_limit(tmp_path):
    path = tmp_path / "m.symp"
    path.write_text(_conv_chain(MAX_WORKED_LAYERS + 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["derive", str(path), "--by", "layer"])
    assert result.exit_code == 2
    assert f"more than MAX_WORKED_LAYERS = {MAX_WORKED_LAYERS}" in result.output
    assert "Traceback" not in result.output
    by_block_result = CliRunner().invoke(main, ["derive", str(path), "-f", "text"])
    assert by_block_result.exit_code == 0, by_block_result.output
    assert f"{MAX_WORKED_LAYERS} layers conv2d_1 to conv2d_{MAX_WORKED_LAYERS}" in \
        by_block_result.output


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_standalone_documents_fit_in_four_pages(tmp_path, name):
    if shutil.which("pdflatex") is None:
        if _in_ci():
            pytest.fail("CI is set and pdflatex is missing", pytrace=False)
        pytest.skip("pdflatex is not installed (Debian's texlive-latex-base)")
    tex = tmp_path / f"{name}.tex"
    tex.write_text(derivation(_stats(name), "latex", standalone=True), encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                   cwd=tmp_path, capture_output=True, timeout=120, check=False)
    log = (tmp_path / f"{name}.log").read_text(encoding="latin-1")
    pages = re.search(r"Output written on .*\((\d+) pages?", log)
    assert pages, log[-2000:]
    assert int(pages.group(1)) <= 4
    assert "Overfull" not in log


# ---- -o out.pdf, out.html; never Markdown under another name -------------------------

def _derive(*args: str):
    return CliRunner().invoke(main, ["derive", "--zoo", "bert_base", *args])


def test_a_pdf_is_compiled_with_pdflatex(tmp_path):
    if shutil.which("pdflatex") is None:
        if _in_ci():
            pytest.fail("CI is set and pdflatex is missing", pytrace=False)
        pytest.skip("pdflatex is not installed (Debian's texlive-latex-base)")
    out = tmp_path / "bert.pdf"
    result = _derive("-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000


def test_a_pdf_without_pdflatex_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    out = tmp_path / "bert.pdf"
    result = _derive("-o", str(out))
    assert result.exit_code == 2
    assert "cannot write a PDF: pdflatex is not installed" in result.output
    assert not out.exists()


def test_html_is_a_page_with_the_counts(tmp_path):
    out = tmp_path / "bert.html"
    result = _derive("-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "109{,}482{,}240" in page  # transformers' BertModel count
    assert "http" not in page  # nothing fetched when it is opened


@pytest.mark.parametrize("name, args, message", [
    ("bert.xyz", (), "cannot tell the format of"),
    ("bert.pdf", ("-f", "markdown"), "is written from its suffix (.pdf)"),
    ("bert.html", ("--standalone",), "an HTML page is whole"),
])
def test_an_unknown_or_contradicted_suffix_is_refused(tmp_path, name, args, message):
    out = tmp_path / name
    result = _derive("-o", str(out), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


# ---- papers' notation ----------------------------------------------------------------

def test_latex_writes_as_papers_do():
    """ResNet-18 (torchvision): conv1 has 64 x C x 7 x 7 = 3136 C weights."""
    tex = derivation(_stats("resnet18"), "latex", by="layer")
    assert r"\mathrm{None}" not in tex and "(b, " in tex
    assert r"3136\,C" in tex and r"3{,}136" not in tex
    assert r"11\,689\,512" in tex  # torchvision's resnet18: 11,689,512 parameters
    assert r"{H}_{\mathrm{out}} &=" in tex and r"{W}_{\mathrm{out}} &=" in tex
    assert r"\paragraph{\texttt{conv1} (Conv2d, line 47)}" in tex


def test_the_textbook_assumption_is_stated_only_where_it_holds():
    # a 7 x 7 convolution of stride 2 and padding 3 on H = 224: (H + 1)/2 = 112.5
    tex = derivation(_stats("resnet18"), "latex", by="layer")
    assert (r"The textbook assumption $s \mid n + 2p - k$ does not hold at these values: "
            r"it would make the size $\frac{H + 1}{2} = \frac{225}{2}$") in tex
    assert "Assuming $s \\mid n + 2p - k$" not in tex
    # at H = 225 it holds: (225 + 1)/2 = 113
    held = derivation(analyze(parse_file(ZOO / "resnet18.symp"), model="resnet18",
                              values={"H": 225, "W": 225}), "latex", by="layer")
    assert r"Assuming $s \mid n + 2p - k$" in held.split(r"\paragraph{\texttt{bn1}")[0]


def test_attention_notes_use_no_letter_of_their_own():
    text = derivation(_stats("gpt2"), "markdown")
    assert "3E" not in text
    assert "the query, key and value projections packed into one matrix" in text
