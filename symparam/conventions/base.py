"""What a convention is: the data that decides how one framework (or a paper) counts.

A convention is one frozen :class:`Convention` object, registered by name. Layers never
compare a convention's name: they ask it for a named behaviour
(``ctx.convention.rnn_bias_vectors``), or look a per-layer table up by its name with
``ctx.pick(keras=..., torch=...)`` (weight names and storage orders, class names,
initial values), where a convention without an entry of its own uses the one it is
``like``. A third convention is one new file that registers one object, usually a
:func:`dataclasses.replace` of Keras's or PyTorch's.

May import: ``symparam.errors`` only (layers, analysis and rendering import this).

>>> from symparam import conventions
>>> torch = conventions.get("torch")
>>> torch.display, torch.layout, torch.rnn_bias_vectors, torch.statistics
('PyTorch', 'channels_first', 2, 'buffer')
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import UsageError

# The roles a convention gives BatchNormalization's statistics (see layers.base.Weight).
NON_TRAINABLE = "non_trainable"  # Keras: parameters that gradients do not train
BUFFER = "buffer"                # PyTorch: state kept beside the parameters, not counted

LAYOUTS = ("channels_last", "channels_first")


def _table(value: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, eq=False)
class Convention:
    """How a framework counts, as named data. Every field is a decision symparam's
    layers ask about; docs/conventions.md lists them with their sources."""

    name: str                  # as written after `convention` and `--convention`
    display: str               # as messages and derivations name it: "PyTorch"
    layout: str                # the default layout of a file written in it
    # Whose per-layer tables (ctx.pick: weight names and storage orders, class names,
    # initial values, constants) it uses where it has no entry of its own.
    like: str = ""
    # Whose framework-only options (an Arg's ``only``) it accepts; () means (like,).
    accepts: tuple[str, ...] = ()
    # Layer class names and automatic layer names by layer kind (its first DSL name),
    # before what the kind declares for the convention it is like.
    type_names: Mapping[str, str] = field(default_factory=_table)
    auto_names: Mapping[str, str] = field(default_factory=_table)

    # ---- weights: which are parameters, which are buffers --------------------------
    statistics: str = NON_TRAINABLE  # BatchNormalization's moving mean and variance
    batch_counter: bool = False      # a num_batches_tracked buffer beside them
    rnn_bias_vectors: int = 1        # bias vectors per gate of a recurrent layer
    prelu_slopes: str = "per_element"  # or "num_parameters" (1 or one per channel)
    attention_heads: str = "key_dim"   # each head's size: key_dim, or "embed_dim/heads"
    rotary_buffers: bool = False       # rotary embeddings keep inv_freq buffers (transformers)
    embed_scale_buffer: bool = False   # a scaled embedding keeps its scale as a buffer (Gemma)

    # ---- defaults and outputs -------------------------------------------------------
    rnn_returns_sequences: bool = False  # a recurrent layer's default output
    upsample_size: str = "factor"        # what upsampling's `size` means, or "output"

    # ---- what the model is ----------------------------------------------------------
    counts_unreached: bool = False  # a layer that does not reach the output counts

    # ---- combinations of options it can express (refused with the one message) -----
    same_padding_with_stride: bool = True   # padding = same with a stride > 1
    stride_with_dilation: bool = False      # a stride > 1 together with a dilation > 1
    output_padding_below_dilation: bool = False  # transposed: op < stride *or* dilation
    shift_without_scale: bool = True        # a learned shift without a learned scale
    many_batchnorm_axes: bool = False       # BatchNormalization over several axes
    inner_norm_axes: bool = True            # layer normalization over inner axes
    fractional_upsampling: bool = False     # an upsampling factor of 1.5

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"convention {self.name}: layout {self.layout!r} is not one "
                             f"of {LAYOUTS}")
        if self.statistics not in (NON_TRAINABLE, BUFFER):
            raise ValueError(f"convention {self.name}: statistics must be "
                             f"{NON_TRAINABLE!r} or {BUFFER!r}")
        object.__setattr__(self, "like", self.like or self.name)
        object.__setattr__(self, "accepts", tuple(self.accepts) or (self.like,))
        object.__setattr__(self, "type_names", _table(self.type_names))
        object.__setattr__(self, "auto_names", _table(self.auto_names))

    @property
    def has_buffers(self) -> bool:
        """Does the framework keep buffers beside its parameters (summaries show them)?"""
        return self.statistics == BUFFER or self.batch_counter

    def pick(self, table: Mapping[str, object]):
        """This convention's entry of a per-layer table keyed by convention name, else
        the entry of the convention it is like."""
        return table[self.name] if self.name in table else table[self.like]

    def type_name(self, kind_name: str, declared: str) -> str:
        """A layer's class name: this convention's table, else what the kind declares."""
        return self.type_names.get(kind_name, declared)

    def auto_name(self, kind_name: str, declared: str) -> str:
        """The base of a layer's automatic name (``dense`` -> dense, dense_1, ...)."""
        return self.auto_names.get(kind_name, declared)

    # A convention is compared by identity; comparing one with a name is a mistake that
    # would be silently false, so it fails loudly (compare ``.name``).
    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            raise TypeError(f"a Convention is not a name: compare convention.name with "
                            f"{other!r}")
        return self is other

    __hash__ = object.__hash__

    def __reduce__(self):
        # Pickled by name: unpickling finds the registered object again (stats that
        # hold a convention stay picklable, and identity is kept).
        return (get, (self.name,))

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


_REGISTRY: dict[str, Convention] = {}


def register(convention: Convention) -> Convention:
    """Make a convention known by its name (a clash is a programming error); its
    ``like`` must name a convention registered before it."""
    if convention.name in _REGISTRY:
        raise ValueError(f"convention {convention.name!r} registered twice")
    if convention.like != convention.name and convention.like not in _REGISTRY:
        raise ValueError(f"convention {convention.name!r} is like {convention.like!r}, "
                         f"which is not registered")
    _REGISTRY[convention.name] = convention
    return convention


def unregister(name: str) -> None:
    """Forget a convention (for tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """The known conventions' names, in the order they were registered."""
    return tuple(_REGISTRY)


def everything() -> tuple[Convention, ...]:
    return tuple(_REGISTRY.values())


def known(name) -> bool:
    """Is this a registered convention's name (or a registered Convention)?"""
    if isinstance(name, Convention):
        return _REGISTRY.get(name.name) is name
    return isinstance(name, str) and name in _REGISTRY


def unknown_message(name: str) -> str:
    """``unknown convention 'tf': use keras or torch``, with the closest name."""
    close = difflib.get_close_matches(name, list(_REGISTRY), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown convention '{name}'{hint}: use {' or '.join(_REGISTRY)}"


def get(name) -> Convention:
    """The convention of this name (a Convention is returned as is); an unknown name is
    a :class:`UsageError` naming the known ones.

    >>> get("keras").display
    'Keras'
    """
    if isinstance(name, Convention):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UsageError(unknown_message(str(name))) from None


class _Displays(Mapping):
    """Name -> display name of every known convention, registered later ones too."""

    def __getitem__(self, name: str) -> str:
        return _REGISTRY[name].display

    def __iter__(self):
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


def displays() -> Mapping[str, str]:
    """Name -> display name of every known convention (a live, read-only view).

    >>> displays()["torch"]
    'PyTorch'
    """
    return _Displays()


def owners(behaviour: str) -> tuple[str, ...]:
    """The names of the conventions whose ``behaviour`` is true (for messages that say
    which convention has what this one refuses)."""
    return tuple(c.name for c in _REGISTRY.values() if getattr(c, behaviour))
