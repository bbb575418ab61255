"""Every layer kind, one definition each. To add a layer, write a class in the module
of its family (or a new module imported here) and ``register`` an instance."""
from . import (attention, conv, core, merge, misc, mla, moe, norm,  # noqa: F401
               preprocessing, recurrent, window)  # (registers the layers)
from .base import (BUFFER, NON_TRAINABLE, REGISTRY, TRAINABLE, Applied, Arg, LayerKind,
                   Weight, lookup, register)

__all__ = ["REGISTRY", "lookup", "register", "LayerKind", "Arg", "Weight", "Applied",
           "TRAINABLE", "NON_TRAINABLE", "BUFFER"]
