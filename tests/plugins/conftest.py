"""tests/plugins holds plugin modules, loaded by the tests that need them
(tests/test_plugin_layer.py): collecting one here would register its layer kinds for
the whole session, so doctest collection skips them."""
collect_ignore = ["swiglu_plugin.py"]
