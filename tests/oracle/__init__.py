"""The oracle: symparam's numbers checked against the real Keras 3 and PyTorch.

- :mod:`oracle.graph` turns an analyzed model (``symparam.analyze``) into a flat graph
  of nodes with integer arguments and shapes, repeats expanded into their copies.
- :mod:`oracle.keras_build` and :mod:`oracle.torch_build` build that graph as a real
  Keras functional model and a real ``torch.nn.Module``: one small function per layer
  kind, in a dispatch table (``BUILDERS``); an unknown kind raises NotImplementedError.
- :mod:`oracle.compare` counts parameters and records every node's output shape in
  the framework and lists every difference from symparam's numbers.
- :mod:`oracle.generate` writes random architectures as symparam source text;
  :mod:`oracle.shrink` reduces a failing one to the smallest model that still fails.

Only ``graph``, ``generate`` and ``shrink`` import without the frameworks: the test
modules import the builders after conftest has checked that torch and keras exist.
"""
