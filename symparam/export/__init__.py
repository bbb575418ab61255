"""Export an analyzed model as readable PyTorch or Keras code, and check the export
against symparam's counts (``symparam export``, ``symparam check``).

The exporters write text and never import a framework; only :mod:`.check` does, when
a check runs. Each framework's knowledge of the layer kinds is one table of entries
(:data:`symparam.export.torch.ENTRIES`, :data:`symparam.export.keras.ENTRIES`).

>>> import symparam
>>> s = symparam.analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n", convention="torch")
>>> print(export(s, "torch").source.splitlines()[-1])
        return dense
"""
from __future__ import annotations

from ..errors import UsageError
from ..stats import ModelStats
from . import keras_writer, torch_writer
from .base import Exported

FRAMEWORKS = ("torch", "keras")
WRITERS = {"torch": torch_writer.write, "keras": keras_writer.write}


def export(stats: ModelStats, framework: str, source: str = "") -> Exported:
    """The code of ``stats`` for ``framework`` ("torch" or "keras"). ``stats`` should
    be analyzed in that framework's convention (the weights are the framework's);
    ``source`` names the file in the header comment."""
    if framework not in WRITERS:
        raise UsageError(f"cannot export to '{framework}': choose torch or keras")
    return WRITERS[framework](stats, source)
