"""Analysis of a model's formulas: memory, sweeps over a grid, solving for a size,
leading terms and differences between models.

Every function here takes a :class:`~symparam.stats.ModelStats` (or two) and returns
data (sympy expressions, numbers, small dataclasses); printing is the CLI's job.
Heavy dependencies (NumPy, matplotlib) are imported only by the functions that
need them, so ``import symparam`` stays fast.
"""
from __future__ import annotations

from .memory import (DTYPE_BYTES, OPTIMIZERS, activation_memory, parameter_memory,
                     training_memory)

__all__ = ["DTYPE_BYTES", "OPTIMIZERS", "activation_memory", "parameter_memory",
           "training_memory"]
