"""The input limits symparam enforces, in one place.

Every limit here is named by the error a user gets when crossing it, and listed in
docs/language.md ("Limits"). Inputs inside the limits answer in well under two seconds;
inputs outside them are refused with a clear message, never a hang or a traceback.
"""
from __future__ import annotations

# Digits of a number written in a model, or of any whole number computed from one
# (a size, a count at given values). Python itself refuses past 4,300.
MAX_DIGITS = 1000

# Copies of a repeat that must be unrolled (its body changes the shape or uses its
# index). A repeat over a symbol, or whose body keeps the shape, is never unrolled.
MAX_UNROLL = 10_000

# How far `solve` walks from a root, each way, for a value that meets the conditions.
SOLVE_STEPS = 1_000_000

# How many values meeting the conditions `solve` has `count` refuse before it gives up
# (each is a full analysis of the model at that value).
SOLVE_RECOUNTS = 50
