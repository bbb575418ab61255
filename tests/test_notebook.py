"""Notebooks (issue 14): the %%symparam cell magic, sweeps as pandas DataFrames and
plots inline, and a whole notebook (docs/notebooks/symparam.ipynb) executed with
nbclient in a real Jupyter kernel."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import symparam
from symparam.analysis.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("CI", "") == "true"
SEED000 = (ROOT / "docs" / "examples" / "seed000.symp").read_text(encoding="utf-8")
NOTEBOOK = ROOT / "docs" / "notebooks" / "symparam.ipynb"


def _need(module: str, install: str):
    try:
        return pytest.importorskip(module, reason=f"{module} is not installed ({install})")
    except pytest.skip.Exception:
        if STRICT:
            pytest.fail(f"{module} is missing in CI ({install})")
        raise


@pytest.fixture(scope="module")
def shell():
    _need("IPython", "pip install -e '.[notebook]'")
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "symparam")
    return ip


def test_magic_analyzes_the_cell_and_stores_it(shell, capsys):
    shell.run_cell_magic("symparam", "--as mlp --set h=256", SEED000)
    stats = shell.user_ns["mlp"]
    assert shell.user_ns["_symparam"] is stats
    # Seed 000's MLP at h = 256: Keras's summary gives 1,070,416 (2,140,752 at h = 512).
    assert stats.value(stats.total) == 1_070_416
    out = capsys.readouterr().out
    assert "Total params: 1,070,416" in out and "Non-trainable params: 512" in out


def test_magic_displays_summary_and_math(shell):
    from symparam.notebook import run_cell

    _, shown, _ = run_cell("", SEED000)
    assert "Total params: 2,140,752" in shown[0]._repr_html_()
    markdown = shown[1]._repr_markdown_()
    assert "$$" in markdown and "&= 2{,}140{,}752" in markdown  # the total, as math
    _, only, _ = run_cell("--no-derive", SEED000)
    assert len(only) == 1


@pytest.mark.parametrize("line, cell, message", [
    ("", "model m(n = 4):\n    input [n]\n    dens 3\n",
     "error: <cell>, line 3, column 5: unknown layer 'dens' (did you mean 'dense'?)"),
    ("--bogus", SEED000, "error: %%symparam: unknown option '--bogus'"),
    ("--set h=x", SEED000, "error: --set h: 'x' is not a positive whole number"),
    ("--as 1x", SEED000, "error: %%symparam --as 1x: not a Python name"),
])
def test_magic_errors_are_one_message(shell, capsys, line, cell, message):
    result = shell.run_cell_magic("symparam", line, cell)
    assert result is None
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err


def test_sweep_to_pandas_is_exact():
    pd = _need("pandas", "pip install pandas")
    stats = symparam.analyze(SEED000)
    frame = sweep(stats, [("h", [256, 512]), ("n", [4096, 10**20])], ["params"]).to_pandas()
    assert list(frame.columns) == ["h", "n", "params"] and len(frame) == 4
    for row in frame.itertuples():
        at = symparam.analyze(SEED000, values={"h": int(row.h), "n": int(row.n)})
        assert row.params == at.value(at.total)  # exact past 2**63 (object column)
    assert isinstance(frame, pd.DataFrame)


def test_sweep_to_pandas_marks_refused_points():
    _need("pandas", "pip install pandas")
    stats = symparam.analyze("model m(d = 64, h = 4):\n    input [8, d]\n"
                             "    attention h, key_dim = d / h\n")
    frame = sweep(stats, [("d", [64, 66])], ["params"]).to_pandas()
    assert frame["admissible"].tolist() == [True, False]
    assert frame["params"].tolist()[1] is None and frame["refused"].tolist()[0] is None


def test_sweep_plot_shows_inline():
    _need("matplotlib", "pip install -e '.[plot]'")
    stats = symparam.analyze(SEED000)
    plot = sweep(stats, [("h", [128, 256, 512])], ["params", "memory"]).plot()
    png = plot._repr_png_()
    assert png.startswith(b"\x89PNG") and plot._repr_svg_().lstrip().startswith("<?xml")
    assert [ax.get_title() for ax in plot.figure.axes] == ["mlp: params", "mlp: memory"]


def test_the_example_notebook_runs(tmp_path):
    """docs/notebooks/symparam.ipynb, executed in a real kernel: every cell runs, the
    magic shows the summary and the math, the sweep a DataFrame, the plot an image, and
    the bad model one message."""
    nbformat = _need("nbformat", "pip install -e '.[notebook]'")
    nbclient = _need("nbclient", "pip install -e '.[notebook]'")
    _need("ipykernel", "pip install -e '.[notebook]'")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_path if env_path else "")
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    code = [c for c in nb.cells if c.cell_type == "code"]
    magic = code[1].outputs
    assert "Total params: 2,140,752" in magic[0]["data"]["text/html"]
    assert "$$" in magic[1]["data"]["text/markdown"]
    assert code[2].outputs[0]["data"]["text/plain"] == \
        "(h*(n + 1) + 4*h + k*(h + 1), 2140752)"
    frame = code[3].outputs[0]["data"]["text/html"]
    assert "<table" in frame and "2140752" in frame and "4281664" in frame
    assert "image/png" in code[4].outputs[0]["data"]
    (bad,) = code[5].outputs
    assert bad["output_type"] == "stream" and bad["name"] == "stderr"
    assert bad["text"].startswith("error: <cell>, line 3, column 5: unknown layer 'dens'")
    assert not any(o["output_type"] == "error" for c in code for o in c.outputs)


def test_notebooks_md_example_runs():
    """docs/notebooks.md's Python session is what the code prints."""
    import doctest

    _need("pandas", "pip install pandas")
    _need("matplotlib", "pip install -e '.[plot]'")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = doctest.testfile(str(ROOT / "docs" / "notebooks.md"), module_relative=False,
                                  optionflags=doctest.NORMALIZE_WHITESPACE)
    finally:
        os.chdir(cwd)
    assert result.attempted >= 4 and result.failed == 0
