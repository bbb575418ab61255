"""Plugins: Python modules that register layer kinds of their own
(``symparam.layers.base.register``), loaded before a command runs.

A plugin is named by its module (``--plugin mypackage.layers``, imported as Python
imports it: from the current folder when symparam runs as ``python -m symparam``, or
from anything installed) or by its file (``--plugin path/to/my_layers.py``). Loading it
runs its code, as importing any Python module does: load only plugins you trust.
See docs/adding-a-layer.md.

May import: the standard library and :mod:`symparam.errors`.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .errors import UsageError


def _module_name(path: Path) -> str:
    """The name a plugin file is imported under: one per file, so that loading it
    twice (two commands in one process) does not register its kinds twice."""
    return "symparam_plugin_" + "".join(c if c.isalnum() else "_" for c in str(path))


def load_plugin(spec: str) -> ModuleType:
    """Import a plugin by module name or file path; any failure is one message.

    >>> load_plugin("no_such_plugin_here")
    Traceback (most recent call last):
    ...
    symparam.errors.UsageError: cannot load plugin 'no_such_plugin_here': No module named 'no_such_plugin_here'
    """
    as_file = spec.endswith(".py") or "/" in spec or "\\" in spec
    try:
        if not as_file:
            return importlib.import_module(spec)
        path = Path(spec).resolve()
        if not path.is_file():
            raise UsageError(f"cannot load plugin '{spec}': no such file")
        name = _module_name(path)
        if name in sys.modules:
            return sys.modules[name]
        found = importlib.util.spec_from_file_location(name, path)
        if found is None or found.loader is None:
            raise UsageError(f"--plugin {path}: not a Python file that can be loaded")
        module = importlib.util.module_from_spec(found)
        sys.modules[name] = module
        try:
            found.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    except UsageError:
        raise
    except Exception as err:  # a plugin's own error: one line, never a traceback
        raise UsageError(f"cannot load plugin '{spec}': {err}") from None
