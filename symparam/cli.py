"""The command line: the only place that prints and exits.

Commands live in ``symparam/commands/`` (one module per family) and attach themselves
to :data:`main`. Library errors (:class:`SymparamError`) become one message on stderr
and a non-zero exit code, never a traceback.

Why click: it is small, well kept, composes commands from several modules, and its
own exception model (one root, an exit code each) is the one symparam copies.
"""
from __future__ import annotations


import click

from . import __version__
from .errors import SymparamError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SymparamError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)
        except RecursionError:
            click.echo("error: the model is nested too deeply to analyze", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(__version__, prog_name="symparam")
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE",
              envvar="SYMPARAM_PLUGINS",
              help="Load a plugin first, a module name or a .py file that registers "
                   "layer kinds (repeatable; or SYMPARAM_PLUGINS, separated by spaces). "
                   "Its code runs: load only plugins you trust.")
@click.pass_context
def main(ctx: click.Context, plugins: tuple[str, ...] = ()) -> None:
    """symparam: exact parameter counts, shapes and derivations of neural networks,
    in your own symbols."""
    from .plugins import load_plugin
    for plugin in plugins:
        load_plugin(plugin)
    if ctx.invoked_subcommand is None:  # `symparam` alone: the help, and success
        click.echo(ctx.get_help())


def run() -> None:  # pragma: no cover - exercised through the console script
    main(prog_name="symparam")


# Each module below adds its commands to `main`.
from .commands import load_commands  # noqa: E402

load_commands()

if __name__ == "__main__":  # pragma: no cover
    run()
