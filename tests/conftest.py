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


def pytest_runtest_setup(item):
    # Every test marked `oracle` gets the check, even one that does not ask for the
    # fixture: in CI it can never silently skip.
    if item.get_closest_marker("oracle") is not None:
        require_frameworks()


def _import_torchvision_quietly(torch) -> None:
    """Import torchvision with ``torch.library.register_fake`` a no-op decorator:
    torchvision 0.28's fake kernels do not register with this torch 2.13 CPU build
    ("operator torchvision::nms does not exist"), and transformers imports it."""
    original = torch.library.register_fake
    torch.library.register_fake = lambda *a, **k: (lambda f: f)
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - transformers also works without torchvision
        pass
    finally:
        torch.library.register_fake = original


@pytest.fixture(scope="session")
def hf_transformers(frameworks):
    """Hugging Face transformers (after torch and keras); skips without it, fails in CI."""
    _import_torchvision_quietly(frameworks["torch"])
    try:
        import transformers
    except Exception as err:  # an ImportError or a broken install
        msg = f"these tests need Hugging Face transformers (pip install transformers): {err}"
        if _in_ci():
            pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
        pytest.skip(msg)
    return transformers
