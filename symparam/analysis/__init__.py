"""Analysis of a model's formulas: memory, sweeps over a grid, solving for a size,
leading terms and differences between models.

Every function here takes a :class:`~symparam.stats.ModelStats` (or two) and returns
data (sympy expressions, NumPy arrays, small dataclasses); printing is the CLI's job
(:mod:`.report` builds the text, :mod:`.diff_output` that of ``diff``). Heavy dependencies (NumPy, matplotlib) are imported
only inside the functions that need them, so importing this package stays cheap.

>>> import symparam
>>> from symparam.analysis.sweep import sweep
>>> from symparam.analysis.solve import solve
>>> s = symparam.analyze("model m(n = 100, h = 2):\\n    input [n]\\n    dense h\\n")
>>> sweep(s, [("h", [1, 2])], ["params", "memory"]).columns["memory"].tolist()
[404, 808]
>>> [c.value for c in solve(s, "h", "params", 1000).candidates]
[9, 10]
"""
from __future__ import annotations

# The functions sweep, solve, leading and diff live in modules of the same names and
# are not re-exported here, so that `symparam.analysis.sweep` stays the module.
from .memory import (DTYPE_BYTES, OPTIMIZERS, activation_memory, parameter_memory,
                     training_memory)
from .metrics import METRICS, MetricOptions, metric_expr

__all__ = ["DTYPE_BYTES", "METRICS", "OPTIMIZERS", "MetricOptions", "activation_memory",
           "metric_expr", "parameter_memory", "training_memory"]
