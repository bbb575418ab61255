"""Hugging Face transformers for the oracle tests: imported once, or the test skips
(fails in CI) saying why.

transformers imports torchvision, whose fake-kernel registrations name operators this
torch build lacks (``torchvision::nms``): torchvision is imported first with
``torch.library.register_fake`` made a no-op, so transformers' import works.
"""
from __future__ import annotations

import os

import pytest


def import_transformers():
    """The transformers module, or a skip (a failure when ``CI`` is true)."""
    try:
        import torch
        original = torch.library.register_fake
        torch.library.register_fake = lambda *a, **k: (lambda f: f)
        try:
            import torchvision  # noqa: F401
        except Exception:  # noqa: BLE001, S110 - transformers works without it
            pass
        finally:
            torch.library.register_fake = original
        import transformers
        transformers.AutoModelForCausalLM  # noqa: B018 - a broken install fails here
    except Exception as err:  # noqa: BLE001 - an ImportError or a broken install
        msg = f"these tests need Hugging Face transformers (pip install transformers): {err}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI is set, so this is an error, not a skip: {msg}", pytrace=False)
        pytest.skip(msg)
    return transformers
