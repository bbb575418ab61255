"""Keras 3's convention: symparam's default.

Sources (docs/conventions.md has a row and a measured example for each): Keras 3's
layers (``keras/src/layers/``): BatchNormalization's moving statistics are
non-trainable weights (``normalization/batch_normalization.py``); one bias vector per
RNN gate (``rnn/lstm.py``); ``keras.Model(inputs, outputs)`` holds only the layers on a
path to its outputs (``models/functional.py``).
"""
from __future__ import annotations

from .base import NON_TRAINABLE, Convention, register

KERAS = register(Convention(
    name="keras",
    display="Keras",
    layout="channels_last",
    statistics=NON_TRAINABLE,
    batch_counter=False,
    rnn_bias_vectors=1,
    prelu_slopes="per_element",
    attention_heads="key_dim",
    rnn_returns_sequences=False,
    upsample_size="factor",
    counts_unreached=False,
    same_padding_with_stride=True,
    stride_with_dilation=False,
    output_padding_below_dilation=False,
    shift_without_scale=True,
    many_batchnorm_axes=False,
    inner_norm_axes=True,
    fractional_upsampling=False,
))
