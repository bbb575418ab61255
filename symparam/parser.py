"""Text to syntax tree: the Lark grammar in ``grammar/symparam.lark`` plus a
Transformer that only builds nodes (checks are the analyzer's job)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterator

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (UnexpectedCharacters, UnexpectedEOF, UnexpectedInput,
                             UnexpectedToken, VisitError)
from lark.indenter import Indenter

from . import ast
from .errors import SourceError, SymparamError
from .resources import resource_dir


class _SymparamIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def handle_NL(self, token: Token) -> Iterator[Token]:
        # Same as lark's, but a bad dedent names its line instead of raising DedentError.
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
            return
        while indent < self.indent_level[-1]:
            self.indent_level.pop()
            yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
        if indent != self.indent_level[-1]:
            line = (token.end_line or token.line)
            raise SourceError(
                f"inconsistent indentation: this line is indented by {indent} columns, "
                f"which matches no enclosing block (expected {self.indent_level[-1]})",
                line=line, column=indent + 1)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (resource_dir("grammar") / "symparam.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", postlex=_SymparamIndenter(),
                propagate_positions=True, maybe_placeholders=True)


def _pos(meta) -> dict:
    return {"line": getattr(meta, "line", 0), "column": getattr(meta, "column", 0)}


def _tpos(tok: Token) -> dict:
    return {"line": tok.line, "column": tok.column}


@v_args(meta=True)
class _Builder(Transformer):
    """Builds AST nodes from the parse tree; raises nothing of its own."""

    # ---- top level
    def start(self, meta, items):
        convention = None
        defs = []
        for item in items:
            if isinstance(item, ast.Convention):
                convention = item
            else:
                defs.append(item)
        return convention, tuple(defs)

    def convention_stmt(self, meta, items):
        return ast.Convention(str(items[0]), **_tpos(items[0]))

    def _definition(self, kind, meta, items):
        name, params, body = items
        return ast.Definition(kind, str(name), tuple(params or ()), body, **_tpos(name))

    def model_def(self, meta, items):
        return self._definition("model", meta, items)

    def block_def(self, meta, items):
        return self._definition("block", meta, items)

    def params(self, meta, items):
        return tuple(items)

    def param(self, meta, items):
        name, default = items
        return ast.Param(str(name), default, **_tpos(name))

    def suite(self, meta, items):
        return tuple(items)

    # ---- statements
    def let_stmt(self, meta, items):
        return ast.Let(str(items[0]), items[1], **_pos(meta))

    def input_stmt(self, meta, items):
        dims, name = items
        return ast.Input(dims, str(name) if name is not None else None, **_pos(meta))

    def layout_stmt(self, meta, items):
        return ast.Layout(str(items[0]), **_tpos(items[0]))

    def from_stmt(self, meta, items):
        return ast.From(str(items[0]), **_tpos(items[0]))

    def layer_stmt(self, meta, items):
        kind, args, name = items
        positional = tuple(a for a in (args or ()) if not isinstance(a, ast.Kwarg))
        keywords = tuple(a for a in (args or ()) if isinstance(a, ast.Kwarg))
        return ast.Layer(str(kind), positional, keywords,
                         str(name) if name is not None else None, **_tpos(kind))

    def args(self, meta, items):
        return tuple(items)

    def kwarg(self, meta, items):
        return ast.Kwarg(str(items[0]), items[1], **_tpos(items[0]))

    def residual_stmt(self, meta, items):
        return ast.Residual(items[0], items[1], **_pos(meta))

    def shortcut(self, meta, items):
        return items[0]

    def branches_stmt(self, meta, items):
        merge = items[0]
        kwargs = tuple(i for i in items[1:] if isinstance(i, ast.Kwarg))
        branches = tuple(i for i in items[1:] if isinstance(i, tuple))
        return ast.Branches(str(merge), kwargs, branches, **_tpos(merge))

    def branch(self, meta, items):
        return items[0]

    def repeat_stmt(self, meta, items):
        count, var, body = items
        return ast.Repeat(count, str(var) if var is not None else None, body, **_pos(meta))

    # ---- expressions
    def number(self, meta, items):
        return ast.Num(str(items[0]), **_tpos(items[0]))

    def name(self, meta, items):
        return ast.Name(str(items[0]), **_tpos(items[0]))

    def string(self, meta, items):
        raw = str(items[0])[1:-1]
        return ast.Str(bytes(raw, "utf-8").decode("unicode_escape"), **_tpos(items[0]))

    def call(self, meta, items):
        func, *args = items
        return ast.Call(str(func), tuple(a for a in args if a is not None), **_tpos(func))

    def list_expr(self, meta, items):
        return ast.ListExpr(tuple(i for i in items if i is not None), **_pos(meta))

    def _bin(op):  # noqa: N805 - a factory used in the class body
        def build(self, meta, items):
            return ast.BinOp(op, items[0], items[1], **_pos(meta))
        return build

    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    div = _bin("/")
    floordiv = _bin("//")
    mod = _bin("%")
    pow = _bin("**")

    def neg(self, meta, items):
        return ast.Neg(items[0], **_pos(meta))


_TOKEN_WORDS = {
    "_NL": "end of line", "_INDENT": "an indented block", "_DEDENT": "end of the block",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "LPAR": "'('",
    "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "COLON": "':'",
    "EQUAL": "'='", "$END": "end of file", "_AS": "'as'",
}


def _describe(token_types) -> str:
    words = sorted({_TOKEN_WORDS.get(t, repr(t.lower()) if t.isupper() else t)
                    for t in token_types})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _syntax_error(err: UnexpectedInput, text: str) -> SourceError:
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        msg = f"syntax error: unexpected character {char!r}"
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            msg = "syntax error: the file ends too early"
        elif tok.type == "_INDENT":
            msg = "syntax error: unexpected indentation"
        elif tok.type == "_DEDENT":
            msg = "syntax error: this block ends too early (a ':' line needs an indented body)"
        elif tok.type == "_NL":
            msg = "syntax error: the line ends too early"
        else:
            msg = f"syntax error: unexpected {str(tok)!r}"
        expected = _describe(err.accepts or err.expected)
        if expected:
            msg += f" (expected {expected})"
    elif isinstance(err, UnexpectedEOF):
        msg = "syntax error: the file ends too early"
    else:  # pragma: no cover - lark has no other kinds today
        msg = f"syntax error: {err}"
    line = getattr(err, "line", None)
    column = getattr(err, "column", None)
    if not isinstance(line, int) or line < 1:
        line = max(1, text.count("\n"))
        column = 1
    return SourceError(msg, line=line, column=column)


def parse(text: str, filename: str | None = None) -> ast.Document:
    """Parse symparam source text into a :class:`~symparam.ast.Document`.

    >>> doc = parse("model m(n = 4):\\n    input [n]\\n    dense 2\\n")
    >>> list(doc.models)
    ['m']
    """
    source = text if text.endswith("\n") else text + "\n"
    try:
        tree = _parser().parse(source)
        convention, defs = _Builder().transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, source).with_source(source, filename) from None
    except SourceError as err:
        raise err.with_source(source, filename) from None
    except VisitError as err:  # pragma: no cover - the builder raises nothing itself
        if isinstance(err.orig_exc, SymparamError):
            raise err.orig_exc from None
        raise
    return ast.Document(defs, convention, source, filename)


def parse_file(path: str | Path) -> ast.Document:
    """Read and parse a file; a missing or unreadable file is a clear error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SymparamError(f"no such file: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SymparamError(f"cannot read {p}: {err}") from None
    return parse(text, filename=str(path))
