"""symparam's fuzzer: hostile, huge and odd input, run on demand (not in CI).

``python3 -m fuzz --inputs 100000 --seed 1 --jobs 2 --timeout 2`` generates inputs
(:mod:`fuzz.cases`), runs each through symparam's public API in reused worker
processes with a hard time limit (:mod:`fuzz.pool`, :mod:`fuzz.target`), decides its
outcome class (:mod:`fuzz.classify`), shrinks what it finds (:mod:`fuzz.shrink`) and
saves it under ``fuzz/findings/<class>/``. See docs/testing.md, "Fuzzing".
"""
