"""The oracle: symparam's numbers checked against the real Keras 3 and PyTorch.

- :mod:`oracle.graph` turns an analyzed model (``symparam.analyze``) into a flat graph
  of nodes with integer arguments and shapes, repeats expanded into their copies.
- :mod:`oracle.keras_build` and :mod:`oracle.torch_build` build that graph as a real
  Keras functional model and a real ``torch.nn.Module``: one small function per layer
  kind, in a dispatch table (``BUILDERS``); an unknown kind raises NotImplementedError.
- :mod:`oracle.compare` lists every difference between symparam's numbers and what
  a framework measured; :mod:`oracle.check` runs the whole chain on one source text.
- :mod:`oracle.generate` writes random architectures as symparam source text (its
  layers in :mod:`oracle.gen_layers`, its building blocks in :mod:`oracle.gen_base`);
  :mod:`oracle.shrink` reduces a failing one to the smallest model that still fails.

Only the builders import the frameworks: the test modules import them after conftest
has checked that torch and keras exist (see docs/testing.md).
"""
