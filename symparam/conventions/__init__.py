"""Conventions as objects: one file per framework, registered by name.

``get(name)`` finds one (an unknown name is a UsageError naming the known ones),
``names()`` lists them. To add a convention, write one file here that registers one
:class:`Convention` (and import it below), or register one from anywhere:
docs/conventions.md shows how.

>>> from symparam import conventions
>>> conventions.names()
('keras', 'torch')
"""
from __future__ import annotations

from . import keras, torch  # noqa: F401  (registers the conventions)
from .base import (BUFFER, NON_TRAINABLE, Convention, displays, everything, get, known,
                   names, owners, register, unknown_message, unregister)

__all__ = ["Convention", "get", "names", "register", "unregister", "everything", "known",
           "displays", "owners", "unknown_message", "NON_TRAINABLE", "BUFFER"]
