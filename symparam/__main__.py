"""``python -m symparam`` works the same as the ``symparam`` command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="symparam")
