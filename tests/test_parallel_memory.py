"""Training memory per device under data parallelism and ZeRO (symparam memory
--devices N --zero S, the ``training`` metric), against the worked example of the
ZeRO paper (Rajbhandari et al. 2020, Figure 1: a 7.5B-parameter model, mixed-precision
Adam (K = 12), 64 data-parallel devices: 120 GB, then 31.4, 16.6 and 1.9 GB per device
for stages 1, 2 and 3)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import symparam
from symparam.analysis.memory import training_memory
from symparam.cli import main
from symparam.errors import UsageError

PAPER = "model zero(n = 7500000000):\n    input [1]\n    dense n, bias = false\n"
FIGURE_1_GB = {0: 120.0, 1: 31.4, 2: 16.6, 3: 1.9}


@pytest.mark.parametrize("stage", sorted(FIGURE_1_GB))
def test_zero_paper_figure_1(stage):
    s = symparam.analyze(PAPER)
    assert s.value(s.total) == 7_500_000_000
    t = training_memory(s, "adam", "mixed", devices=64, zero=stage)
    assert round(s.value(t.total) / 1e9, 1) == FIGURE_1_GB[stage]


def test_shares_are_exact_and_padded():
    # 10 parameters over 4 devices: each holds ceil(10/4) = 3 of every split part.
    s = symparam.analyze("model m(n = 10):\n    input [1]\n    dense n, bias = false\n")
    parts = {name: s.value(count) for name, _, count, _ in
             training_memory(s, "adam", "mixed", devices=4, zero=2).parts}
    assert parts == {"weights": 10, "gradients": 3, "fp32 master weights": 3,
                     "optimizer moments m and v": 3}


def test_buffers_stay_whole_and_stage_0_splits_nothing():
    s = symparam.analyze("convention torch\nmodel m(C = 8):\n    input [C, 4, 4]\n"
                         "    batchnorm\n")
    t = training_memory(s, "sgd", "fp32", devices=8, zero=3)
    assert dict((n, s.value(c)) for n, _, c, _ in t.parts)["buffers"] == 2 * 8 + 1
    whole = training_memory(s, "sgd", "fp32")
    assert training_memory(s, "sgd", "fp32", devices=8, zero=0).total == whole.total


def test_cli_and_errors():
    out = CliRunner().invoke(main, ["memory", "--zoo", "llama3_8b", "--precision", "mixed",
                                    "--devices", "8", "--zero", "3"])
    assert out.exit_code == 0, out.output
    assert "ZeRO stage 3" in out.output and "params/8" in out.output
    # 8,030,261,248 parameters over 8 devices, 16 bytes each, plus 128 bf16 buffers.
    assert "16,060,522,752" in out.output
    bad = CliRunner().invoke(main, ["memory", "--zoo", "llama3_8b", "--zero", "2"])
    assert bad.exit_code == 2 and "--devices" in bad.output
    with pytest.raises(UsageError, match="ZeRO stage 4"):
        training_memory(symparam.analyze(PAPER), zero=4, devices=2)
