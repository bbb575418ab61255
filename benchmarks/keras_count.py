"""Build one model in Keras 3 (torch backend) and print its count_params(), as JSON.

Run cold by benchmarks/run.py, once per timing:

    python benchmarks/keras_count.py --app VGG16          # keras.applications
    python benchmarks/keras_count.py --graph model.pkl    # a graph built by the oracle
    python benchmarks/keras_count.py --hand gpt2          # written out below, by hand

For ``--graph``, the time spent loading the pickled graph (which imports sympy and
symparam's oracle helpers, costs Keras itself does not have) is measured and
reported as ``overhead_s`` so that run.py can subtract it.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
ROOT = Path(__file__).resolve().parents[1]


def gpt2(keras, V=50257, T=1024, d=768, L=12, heads=12, tied=True):
    """GPT-2 (zoo/gpt2.symp) in Keras layers: the head shares the token embedding."""
    from keras import layers as kl
    tokens = keras.Input((T,), dtype="int32")
    positions = keras.Input((T,), dtype="int32")
    x = kl.Add()([kl.Embedding(V, d)(tokens), kl.Embedding(T, d)(positions)])
    for _ in range(L):
        h = kl.LayerNormalization(epsilon=1e-5)(x)
        x = kl.Add()([x, kl.MultiHeadAttention(heads, d // heads)(h, h)])
        h = kl.LayerNormalization(epsilon=1e-5)(x)
        h = kl.Dense(d)(kl.Dense(4 * d, activation="gelu")(h))
        x = kl.Add()([x, h])
    x = kl.LayerNormalization(epsilon=1e-5)(x)
    if not tied:
        x = kl.Dense(V, use_bias=False)(x)
    return keras.Model([tokens, positions], x)


def imdb_lstm(keras, V=20000, T=80, d=128, u=128):
    """zoo/imdb_lstm.symp: Keras's IMDB LSTM example."""
    from keras import layers as kl
    words = keras.Input((T,), dtype="int32")
    x = kl.LSTM(u, dropout=0.2, recurrent_dropout=0.2)(kl.Embedding(V, d)(words))
    return keras.Model(words, kl.Dense(1, activation="sigmoid")(x))


HAND = {"gpt2": gpt2, "gpt2_untied": lambda k: gpt2(k, tied=False), "imdb_lstm": imdb_lstm}


def main(argv: list[str]) -> None:
    import keras

    if argv[0] == "--hand":
        model = HAND[argv[1]](keras)
        print(json.dumps({"count": int(model.count_params()), "overhead_s": 0.0}))
        return

    if argv[0] == "--app":
        model = getattr(keras.applications, argv[1])(weights=None)
        print(json.dumps({"count": int(model.count_params()), "overhead_s": 0.0}))
        return
    t = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from tests.oracle import keras_build  # noqa: F401  (unpickling needs graph classes)
    graph = pickle.loads(Path(argv[1]).read_bytes())
    overhead = time.perf_counter() - t
    measured = keras_build.measure(graph, forward=False)
    print(json.dumps({"count": int(measured.totals["total"]), "overhead_s": overhead}))


if __name__ == "__main__":
    main(sys.argv[1:])
