"""``python -m symparam`` works the same as the ``symparam`` command."""
from .cli import main

main(prog_name="symparam")
