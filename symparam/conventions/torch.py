"""PyTorch 2's convention (``convention torch``).

Sources (docs/conventions.md has a row and a measured example for each): ``torch.nn``
modules: BatchNorm's ``running_mean``, ``running_var`` and ``num_batches_tracked`` are
buffers (``nn/modules/batchnorm.py``); RNNs keep ``bias_ih`` and ``bias_hh``
(``nn/modules/rnn.py``) and return the whole sequence; ``Module.parameters()`` yields
every registered module's parameters, used or not.
"""
from __future__ import annotations

from .base import BUFFER, Convention, register

TORCH = register(Convention(
    name="torch",
    display="PyTorch",
    layout="channels_first",
    statistics=BUFFER,
    batch_counter=True,
    rnn_bias_vectors=2,
    prelu_slopes="num_parameters",
    attention_heads="embed_dim/heads",
    rotary_buffers=True,
    embed_scale_buffer=True,
    rnn_returns_sequences=True,
    upsample_size="output",
    counts_unreached=True,
    same_padding_with_stride=False,
    stride_with_dilation=True,
    output_padding_below_dilation=True,
    shift_without_scale=False,
    many_batchnorm_axes=True,
    inner_norm_axes=False,
    fractional_upsampling=True,
))
