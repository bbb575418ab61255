"""Shared test setup: the oracle's frameworks (PyTorch and Keras 3 on it).

Tests marked ``oracle`` need torch and keras. In CI (the environment variable CI set,
as ``.ci/run`` and hosted runners do) a missing framework FAILS those tests: the
differential tests must never skip silently there. Elsewhere they skip, saying why.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pytest

# Keras reads its backend once, at import: set it before anything imports keras.
os.environ["KERAS_BACKEND"] = "torch"

# The oracle package (tests/oracle) is imported as `oracle`; its modules are helpers,
# not tests, and the builders import the frameworks, so doctest collection skips them.
sys.path.insert(0, str(Path(__file__).parent))
collect_ignore = ["oracle"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_frameworks() -> str | None:
    """Why the frameworks cannot be used, or None when both import."""
    problems = []
    for module in ("torch", "keras"):
        try:
            __import__(module)
        except Exception as err:  # an ImportError, or a broken install
            problems.append(f"{module} ({type(err).__name__}: {err})")
    if not problems:
        import keras
        if keras.backend.backend() != "torch":
            problems.append(f"keras runs on {keras.backend.backend()}, not torch "
                            f"(keras was imported before KERAS_BACKEND was set)")
    return "; ".join(problems) or None


@functools.lru_cache(maxsize=None)
def _why_missing() -> str | None:
    return _missing_frameworks()


def require_frameworks() -> None:
    """Fail (in CI) or skip (elsewhere) unless torch and keras can be used."""
    why = _why_missing()
    if why:
        msg = (f"the oracle tests need PyTorch and Keras 3 (pip install torch==2.13.0 "
               f"keras): cannot use {why}")
        if _in_ci():
            pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def frameworks():
    """torch and keras, after :func:`require_frameworks`."""
    require_frameworks()
    import keras
    import torch
    return {"keras": keras, "torch": torch}


def import_torchvision():
    """torchvision 0.28's compiled ops do not load with torch 2.13 (``operator
    torchvision::nms does not exist``): import it with ``torch.library.register_fake``
    replaced by a no-op decorator for the time of the import. Its models build and run;
    its detection ops (nms, roi_align) are not used here. transformers imports
    torchvision when it is installed, so it needs this first too."""
    import sys

    import torch
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    real = torch.library.register_fake

    def no_op(op, func=None, *args, **kwargs):
        return func if func is not None else (lambda f: f)

    torch.library.register_fake = no_op
    try:
        import torchvision
    finally:
        torch.library.register_fake = real
    return torchvision


def _optional(module: str, install: str):
    """Import ``module`` for an oracle test; skip (fail in CI) saying how to install it."""
    try:
        if module == "torchvision":
            return import_torchvision()
        __import__(module)
        import sys
        return sys.modules[module]
    except Exception as err:  # noqa: BLE001 - an ImportError or a broken install
        msg = f"these tests need {module} ({install}): {type(err).__name__}: {err}"
        if _in_ci():
            pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def torchvision(frameworks):
    """torchvision (see :func:`import_torchvision`), with torch and keras."""
    return _optional("torchvision", "pip install torchvision==0.28.0 --no-deps")


@pytest.fixture(scope="session")
def hf_transformers(frameworks):
    """Hugging Face transformers, with torch and keras; skipped (failed in CI) when it
    does not import. torchvision, when installed, is imported first (see
    :func:`import_torchvision`), as transformers imports it."""
    try:
        import_torchvision()
    except ImportError:
        pass  # transformers works without torchvision
    return _optional("transformers", "pip install transformers")


def pytest_runtest_setup(item):
    # Every test marked `oracle` gets the check, even one that does not ask for the
    # fixture: in CI it can never silently skip.
    if item.get_closest_marker("oracle") is not None:
        require_frameworks()
