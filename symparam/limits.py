"""The input limits symparam enforces, in one place.

Every limit here is named by the error a user gets when crossing it, and listed in
docs/language.md ("Limits"). Inputs inside the limits answer in well under two seconds;
inputs outside them are refused with a clear message, never a hang or a traceback.
"""
from __future__ import annotations

# Digits of a number written in a model, or of any whole number computed from one
# (a size, a count at given values). Python itself refuses past 4,300.
MAX_DIGITS = 1000

# A number exponent of `**`, and the number degree of any power an expression builds:
# (d ** 1000) ** 1000 has no count one can print. A symbol's exponent (2**k) is bounded
# by MAX_DIGITS at the given values instead.
MAX_EXPONENT = 1000

# Copies of a repeat that must be unrolled (its body changes the shape or uses its
# index), and layers a recurrent layer stacks. A repeat over a symbol, or whose body
# keeps the shape, is never unrolled. Unrolled copies are distinct layers, a few ms of
# sympy each: 500 answer in about 2 s (docs/performance.md).
MAX_UNROLL = 500

# Layer applications in a model once blocks are expanded and repeats unrolled (a repeat
# kept rolled counts its body once; inputs count). Real models have under 1,000
# (EfficientNet-B7: 816 Keras layers); 10,000 lines take seconds just to parse.
MAX_LAYERS = 2_000

# Levels of nesting in the text: brackets, calls, operators (a chain `a + b + c` counts
# one level per operator) and indented bodies, blocks used inside blocks included.
MAX_NESTING = 100

# Rendering a template (derivations, --template, cards): wall time in seconds,
# steps (loop iterations, calls and operations), nested calls (macros, recursive loops),
# characters of the output and of any text or list it builds (items for a list), and
# characters it may build in all, intermediate texts included.
MAX_TEMPLATE_SECONDS = 10
MAX_TEMPLATE_STEPS = 100_000
# Steps one call of a template's own macro (or of a recursive loop) counts: Jinja's
# macro call costs as much as several operations (about 40 us against 1-2 us for a loop
# iteration), so a template that doubles its calls at each level is stopped after about
# 9,000 calls, under a second. The shipped Markdown derivation of ResNet-50 (97 layers,
# 1,120 macro calls) takes about 15,000 steps, one of MAX_DERIVED_LAYERS about 80,000.
TEMPLATE_MACRO_STEPS = 10
MAX_TEMPLATE_DEPTH = 50
MAX_TEMPLATE_OUTPUT = 10_000_000
MAX_TEMPLATE_WORK = 100_000_000

# How far `solve` walks from a root, each way, for a value that meets the conditions.
SOLVE_STEPS = 1_000_000

# Whole values of the symbol at which `solve` evaluates a metric with floor or ceiling
# (no closed-form root; it may fall, or rise and fall), every one, for the crossings.
SOLVE_SCAN = 200_000

# Beyond SOLVE_SCAN, `solve` probes such a metric at each power of 2 up to 2 ** this.
SOLVE_PROBE_BITS = 200

# Crossings of the target `solve` proposes values around (the first ones, by value).
SOLVE_CROSSINGS = 4

# How many values meeting the conditions `solve` has `count` refuse before it gives up
# (each is a full analysis of the model at that value).
SOLVE_RECOUNTS = 50

# Layers of a model a derivation (`derive`, a template) may be asked for: a model of
# 10,000 layers is counted in seconds, but its derivation would be unreadable.
MAX_DERIVED_LAYERS = 500

# Layers (and blocks' layers) a shipped derivation works out step by step: formula,
# numbers, result, and each output size. Measured (in process, CPU, a loaded 2-core
# machine) on 300 stride-2 convolutions, whose sizes are ceilings: 7-8 ms a layer by
# layer (2.3 s for 300, most of it printing ceiling(H/2**k) with sympy), so 150 take
# about 1.1 s; by block the 299 equal ones are one run, derived once (0.5 s in all).
MAX_WORKED_LAYERS = 150

# Characters of a model's text, refused before it is parsed: lark reads about 100,000
# characters a second on a loaded 2-core machine, and a model of MAX_LAYERS written-out
# layers takes about 40,000.
MAX_SOURCE_CHARS = 200_000

# Tokens of a model's text (names, numbers, texts in quotes, symbols such as `(` or
# `-`, and line ends; comments are free), counted before it is parsed: lark takes
# 30-150 us a token (idle to loaded 2-core machine), so a pathological text of
# 100,000 one-character tokens (`dense ------...n`, `((((...`) took 5-15 s. The zoo's
# models have under 600; a model of MAX_LAYERS written-out layers about 8,000-16,000.
MAX_TOKENS = 20_000

# Parameters `check --against keras` builds: Keras allocates every weight for real
# (PyTorch's check uses the meta device and has no limit). BERT-base (110M) takes
# about 15 s and 0.5 GB; a 7B LLM would need 28 GB. Check such a model in Keras with
# smaller values of its symbols (--set), the formulas being the same.
MAX_KERAS_CHECK_PARAMS = 200_000_000

# Bytes of a configuration file `symparam import` reads (a Hugging Face config.json):
# real ones are a few kilobytes, those listing 21,843 ImageNet labels about 1 MB.
MAX_CONFIG_BYTES = 5_000_000

# Levels of nesting of brackets in such a file: real ones have 3 or 4; Python's json
# module recurses once per level.
MAX_CONFIG_NESTING = 50
