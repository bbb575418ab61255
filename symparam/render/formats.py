"""The derivation formats and Markdown flavours, apart from the Jinja machinery so
that the command line can list them without importing Jinja2 (``count`` never needs it)."""
from __future__ import annotations

FORMATS = {"latex": "derive.tex.j2", "markdown": "derive.md.j2", "text": "derive.txt.j2"}
FLAVORS = ("github", "plain")
BLOCKS = {"latex": "derive-blocks.tex.j2", "markdown": "derive-blocks.md.j2",
          "text": "derive-blocks.txt.j2"}
