"""Build one model in Keras 3 (torch backend) and print its count_params(), as JSON.

Run cold by benchmarks/run.py, once per timing:

    python benchmarks/keras_count.py --app VGG16          # keras.applications
    python benchmarks/keras_count.py --graph model.pkl    # a graph built by the oracle

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


def main(argv: list[str]) -> None:
    import keras

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
