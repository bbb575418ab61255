"""Text to syntax tree: the Lark grammar in ``grammar/symparam.lark`` plus a
Transformer that only builds nodes (checks are the analyzer's job)."""
from __future__ import annotations

import hashlib
import re
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (UnexpectedCharacters, UnexpectedInput,
                             UnexpectedToken, VisitError)
from lark.indenter import Indenter

from . import ast
from .chars import REFUSED_IN_STRINGS, describe_char, normalize_newlines
from .errors import SourceError, SymparamError
from .limits import MAX_NESTING, MAX_SOURCE_CHARS, MAX_TOKENS
from .resources import resource_dir


_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


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
        if indent not in self.indent_level:
            levels = " or ".join(str(i) for i in reversed(self.indent_level))
            raise SourceError(
                f"inconsistent indentation: this line is indented by {indent} columns, "
                f"which matches no enclosing block (expected {levels})"
                + (" (a tab counts as 8 columns)" if "\t" in indent_str else ""),
                line=token.end_line or token.line, column=len(indent_str) + 1)
        while indent < self.indent_level[-1]:
            self.indent_level.pop()
            yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)


def _cache_file(grammar: str) -> str | bool:
    """Where Lark keeps the analyzed grammar between runs (it saves ~0.1 s of every
    cold start): the user's own cache folder, never the shared temporary one, where
    another user could leave a pickle to be loaded. No folder, no cache.

    One file per grammar text: Lark writes its cache in place, so two versions of
    symparam sharing one file (two checkouts, or an upgrade while another process
    runs) could read the other's parser mid-write, and parse with the wrong grammar."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "symparam")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    # Lark also checks the grammar's hash inside the file and rebuilds a stale one.
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return os.path.join(folder, f"grammar-{digest}.lark-cache")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (resource_dir("grammar") / "symparam.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", postlex=_SymparamIndenter(),
                propagate_positions=True, maybe_placeholders=True, cache=_cache_file(grammar))


@lru_cache(maxsize=1)
def _fragment_parser() -> Lark:
    """The same grammar started at ``formula`` or ``condition`` (its own cache file)."""
    grammar = (resource_dir("grammar") / "symparam.lark").read_text(encoding="utf-8")
    cache = _cache_file(grammar)
    return Lark(grammar, parser="lalr", postlex=_SymparamIndenter(),
                start=["formula", "condition"], propagate_positions=True,
                maybe_placeholders=True, cache=cache and cache + "-fragments")


def _pos(meta) -> dict:
    return {"line": getattr(meta, "line", 0), "column": getattr(meta, "column", 0)}


def _tpos(tok: Token) -> dict:
    return {"line": tok.line, "column": tok.column}


# Keywords (and the constants): a name being defined cannot be one.
_RESERVED = frozenset({"model", "block", "let", "input", "as", "layout", "from", "residual",
                       "shortcut", "branches", "branch", "repeat", "convention", "true",
                       "false", "moe", "shared"})


def _new_name(tok, line: int = 0, column: int = 0) -> str | None:
    """A name being defined (a model, a symbol, a let, an `as` name...), or None."""
    if tok is None:
        return None
    if str(tok) in _RESERVED:
        raise SourceError(f"'{tok}' is a keyword: it cannot be used as a name",
                          line=getattr(tok, "line", line), column=getattr(tok, "column", column))
    return str(tok)


def _name_at(tok: Token | None) -> tuple[int, int]:
    return (tok.line, tok.column) if tok is not None else (0, 0)


def _string_text(tok: Token) -> str:
    """A string token's text; a control character or line separator in it is refused
    at its own column (a string is not a comment; lark counts lines at \\n only)."""
    bad = REFUSED_IN_STRINGS.search(str(tok))
    if bad:
        raise SourceError(f"unexpected character {describe_char(bad.group())} in a string",
                          line=tok.line, column=tok.column + bad.start())
    return str(tok)


def _split_args(args) -> tuple[tuple, tuple]:
    """A statement's arguments: the positional ones, then the keywords (the grammar
    allows any order; the language does not)."""
    seen_keyword = None
    for a in args or ():
        if isinstance(a, ast.Kwarg):
            seen_keyword = seen_keyword or a
        elif seen_keyword is not None:
            raise SourceError(f"a positional argument follows the keyword argument "
                              f"'{seen_keyword.name}': give positional ones first",
                              line=a.line or None, column=a.column or None)
    return (tuple(a for a in (args or ()) if not isinstance(a, ast.Kwarg)),
            tuple(a for a in (args or ()) if isinstance(a, ast.Kwarg)))


@v_args(meta=True)
class _Builder(Transformer):
    """Builds AST nodes from the parse tree; raises nothing of its own."""

    # ---- top level
    def start(self, meta, items):
        conventions = tuple(i for i in items if isinstance(i, ast.Convention))
        defs = tuple(i for i in items if not isinstance(i, ast.Convention))
        return conventions, defs

    def convention_stmt(self, meta, items):
        return ast.Convention(str(items[0]), **_tpos(items[0]))

    def _definition(self, kind, meta, items):
        name, params, body = items
        for p in params or ():
            _new_name(p.name, p.line, p.column)
        return ast.Definition(kind, _new_name(name), tuple(params or ()), body, **_tpos(name))

    def model_def(self, meta, items):
        return self._definition("model", meta, items)

    def block_def(self, meta, items):
        return self._definition("block", meta, items)

    def params(self, meta, items):
        return tuple(items)

    def param(self, meta, items):
        name, default, tex = items
        # The LaTeX form is kept as written (only \" unescaped): \nu stays \nu.
        latex = _string_text(tex)[1:-1].replace('\\"', '"') if tex is not None else None
        return ast.Param(str(name), default, latex, **_tpos(name))

    def suite(self, meta, items):
        return tuple(items)

    # ---- statements
    def let_stmt(self, meta, items):
        return ast.Let(_new_name(items[0]), items[1], **_tpos(items[0]))

    def input_stmt(self, meta, items):
        dims, name = items
        return ast.Input(dims, _new_name(name), **_pos(meta),
                         name_at=_name_at(name))

    def layout_stmt(self, meta, items):
        return ast.Layout(str(items[0]), **_tpos(items[0]))

    def from_stmt(self, meta, items):
        return ast.From(str(items[0]), **_tpos(items[0]))

    def layer_stmt(self, meta, items):
        kind, args, name = items
        positional, keywords = _split_args(args)
        return ast.Layer(str(kind), positional, keywords,
                         _new_name(name), **_tpos(kind),
                         name_at=_name_at(name))

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

    def moe_stmt(self, meta, items):
        args, body, shared = items
        positional, keywords = _split_args(args)
        return ast.Moe(positional, keywords, body, shared, **_pos(meta))

    def moe_shared(self, meta, items):
        return items[0]

    def repeat_stmt(self, meta, items):
        count, var, body = items
        return ast.Repeat(count, _new_name(var), body, **_pos(meta))

    # ---- expressions
    def number(self, meta, items):
        return ast.Num(str(items[0]), **_tpos(items[0]))

    def name(self, meta, items):
        return ast.Name(str(items[0]), **_tpos(items[0]))

    def string(self, meta, items):
        # Only the escapes a size or a word could need; others stay as written (a full
        # unicode_escape decode fails on input such as "\x").
        raw = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)),
                          _string_text(items[0])[1:-1])
        return ast.Str(raw, **_tpos(items[0]))

    def call(self, meta, items):
        func, *args = items
        return ast.Call(str(func), tuple(a for a in args if a is not None), **_tpos(func))

    def paren(self, meta, items):
        return items[0]

    def list_expr(self, meta, items):
        return ast.ListExpr(tuple(i for i in items if i is not None), **_pos(meta))

    def chain(self, meta, items):
        first, *links = items
        rest = tuple((str(links[i]), links[i + 1]) for i in range(0, len(links), 2))
        return ast.Chain(first, rest, **_pos(meta))

    def pow(self, meta, items):
        return ast.BinOp("**", items[0], items[1], **_pos(meta))

    def neg(self, meta, items):
        return ast.Neg(items[0], **_pos(meta))


_TOKEN_WORDS = {
    "_NL": "end of line", "_INDENT": "an indented body", "_DEDENT": "end of the block",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "$END": "end of file",
    "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
}
_OPEN = {"(": ")", "[": "]"}
_CLOSE = {")": "(", "]": "["}


def _word(token_type: str) -> str:
    """How a terminal reads in a message: its literal text when it has one
    (``'//'`` rather than lark's ``__ANON_0``)."""
    if token_type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_type]
    for term in _parser().terminals:
        if term.name == token_type and term.pattern.type == "str":
            return repr(term.pattern.value)
    return token_type.lower()


_OPERATORS = {"'+'", "'-'", "'*'", "'/'", "'//'", "'%'", "'**'"}


def _describe(token_types) -> str:
    words = {_word(t) for t in token_types}
    if len(words & _OPERATORS) > 2:  # after a value: any operator would do
        words = (words - _OPERATORS) | {"an operator"}

    def rank(w):  # closing symbols, then keywords, then kinds of token, then the rest
        if w in ("')'", "']'", "','", "':'", "'='"):
            return 0
        return 1 if w.startswith("'") else 2 if not w.startswith("an ") else 3
    ordered = sorted(words, key=lambda w: (rank(w), w))
    if len(ordered) > 8:
        ordered = ordered[:8] + ["..."]
    return ", ".join(ordered)


def _unclosed_bracket(text: str, upto: int):
    """The innermost '(' or '[' still open at offset ``upto`` (skipping comments and
    strings), as (char, line, column), or None."""
    stack, line, col, i = [], 1, 1, 0
    while i < min(upto, len(text)):
        c = text[i]
        if c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            col += j - i
            i = j
            if i >= len(text) or text[i] == "\n":  # unterminated: the newline is counted next
                continue
        elif c in _OPEN:
            stack.append((c, line, col))
        elif c in _CLOSE and stack and stack[-1][0] == _CLOSE[c]:
            stack.pop()
        if c == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return stack[-1] if stack else None


def _error_offset(err: UnexpectedInput, text: str) -> int:
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(pos, int) and pos >= 0:
        return pos
    return len(text)  # end of file, or a token lark gives no offset (an indent)


def _syntax_error(err: UnexpectedInput, text: str) -> SourceError:
    """Lark's error as one sentence, at the offending token (an unclosed bracket is
    reported where it opens)."""
    line, column = getattr(err, "line", None), getattr(err, "column", None)
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        msg = f"unexpected character {describe_char(char)}"
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        bracket = _unclosed_bracket(text, _error_offset(err, text))
        at_end = tok.type in ("$END", "_DEDENT")
        if bracket is not None and (at_end or (isinstance(tok.line, int)
                                               and tok.line > bracket[1])):
            char, line, column = bracket
            found = "the end of the file" if at_end else f"{str(tok)!r} on line {tok.line}"
            msg = f"this '{char}' is never closed (the text reaches {found} still inside it)"
        else:
            msg = _unexpected_token(err)
            if tok.type in ("_INDENT", "_DEDENT") and tok.end_line:
                # Indents borrow the position of the newline before them: point at the
                # first character of the indented (or dedented) line instead.
                line, column = tok.end_line, tok.end_column
    else:  # UnexpectedEOF; lark has no other kinds today
        msg = "the file ends too early"
    if not isinstance(line, int) or line < 1:
        line, column = max(1, text.count("\n")), 1
    return SourceError("syntax error: " + msg, line=line, column=column)


def _unexpected_token(err: UnexpectedToken) -> str:
    tok, accepts = err.token, set(err.accepts or err.expected or ())
    what = {"$END": "the file ends too early", "_NL": "the line ends too early",
            "_DEDENT": "this block ends too early",
            "_INDENT": "unexpected indentation (only a line ending in ':' opens an "
                       "indented body)"}.get(tok.type, f"unexpected {str(tok)!r}")
    if accepts == {"_INDENT"}:
        return what + " (expected an indented body after the line ending in ':')"
    if tok.type == "_INDENT" and "\t" in str(tok):
        return what + " (a tab counts as 8 columns)"
    if tok.type == "_INDENT" or not accepts:
        return what
    return what + f" (expected {_describe(accepts)})"


# The operators of each precedence level, by their parse-tree names.
_LEVELS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%"}
_LEVEL_OF = {"add": 0, "sub": 0, "mul": 1, "div": 1, "floordiv": 1, "mod": 1}


def flatten_chains(tree: Tree) -> Tree:
    """Rewrite, in place and without recursion, every chain of operators of one
    precedence level (lark's left-deep ``add(sub(add(a, b), c), d)``) into one
    ``chain`` node ``[a, '+', b, '-', c, '+', d]``: a sum of 10,000 terms is then one
    level deep for the (recursive) transformers that walk the tree after this."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.data in _LEVEL_OF:
            level, links, first = _LEVEL_OF[node.data], [], node
            while isinstance(first, Tree) and _LEVEL_OF.get(first.data) == level:
                links.append((first.data, first.children[1]))
                first = first.children[0]
            children = [first]
            for data, term in reversed(links):
                children += [Token("OPERATOR", _LEVELS[data]), term]
            node.data, node.children = "chain", children
        stack.extend(c for c in node.children if isinstance(c, Tree))
    return tree


# Parse-tree nodes that are one level of nesting to a reader: a chain of operators of
# one level (however long), a power, a minus sign, a bracket, a call, a list, an
# indented body.
_NESTING = frozenset({"chain", "pow", "neg", "paren", "call", "list_expr", "suite"})


def _check_nesting(tree: Tree) -> None:
    """Refuse text nested more than MAX_NESTING levels, at the line where the limit is
    crossed, before the (recursive) Transformer and analyzer walk it. Iterative, so any
    depth is measured without recursion."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in _NESTING:
            depth += 1
            if depth > MAX_NESTING:
                what = "body" if node.data == "suite" else "expression"
                line = getattr(node.meta, "line", None)
                if node.data == "suite":  # a body's position is the newline before it
                    line = next((c.meta.line for c in node.children
                                 if isinstance(c, Tree) and not c.meta.empty), line)
                raise SourceError(
                    f"this {what} is nested too deeply: more than {MAX_NESTING} levels of "
                    f"brackets, operators and indented bodies (the limit MAX_NESTING = "
                    f"{MAX_NESTING}); split it with `let` names or blocks",
                    line=line, column=None if node.data == "suite" else
                    getattr(node.meta, "column", None))
        stack.extend((c, depth) for c in node.children if isinstance(c, Tree))


def _check_conventions(conventions, defs) -> ast.Convention | None:
    """At most one ``convention`` line, before every model and block."""
    if len(conventions) > 1:
        first, second = conventions[:2]
        raise SourceError(f"the convention is given twice (first at line {first.line})",
                          line=second.line, column=second.column)
    if conventions and defs and (defs[0].line, defs[0].column) < (
            conventions[0].line, conventions[0].column):
        raise SourceError("the convention line must come before every model and block",
                          line=conventions[0].line, column=conventions[0].column)
    return conventions[0] if conventions else None


def _within(err: SourceError, source: str, text: str) -> SourceError:
    """An error at the end of a text without a final newline names the text's last line
    (the newline the parser adds is not a line the user's editor has)."""
    lines = source.count("\n")  # the source ends with one
    if not normalize_newlines(text).endswith("\n") and err.line and err.line > lines:
        last = source[:-1].rsplit("\n", 1)[-1]
        err.line, err.column = lines, len(last) + 1
    return err


# What the parser reads as one token (roughly: a word or number, a text in quotes, one
# other character, a line end after something); spaces and comments are skipped.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z0-9_.]+|\n(?=[ \t]*[^\s#])|[^\s#]|#[^\n]*',
                    re.ASCII)


def _check_tokens(source: str, text: str, filename: str | None) -> None:
    """Refuse a text of more than MAX_TOKENS tokens before lark reads it, at the line
    where the limit is crossed (counting costs a few ms; lark takes seconds)."""
    count = 0
    for m in _TOKEN.finditer(source):
        if m.group()[0] != "#":
            count += 1
            if count > MAX_TOKENS:
                line = source.count("\n", 0, m.start()) + 1
                raise SourceError(f"the text has more than the limit MAX_TOKENS = "
                                  f"{MAX_TOKENS:,} tokens (names, numbers, texts and "
                                  f"symbols such as ( or -); the limit is crossed on this "
                                  f"line", line=line, column=None).with_source(source, filename)


def parse(text: str, filename: str | None = None) -> ast.Document:
    """Parse symparam source text into a :class:`~symparam.ast.Document`.

    >>> doc = parse("model m(n = 4):\\n    input [n]\\n    dense 2\\n")
    >>> list(doc.models)
    ['m']
    """
    source = normalize_newlines(text)  # the one rule for line ends (symparam/chars.py)
    source = source if source.endswith("\n") else source + "\n"
    if len(source) > MAX_SOURCE_CHARS + 1:
        line = source.count("\n", 0, MAX_SOURCE_CHARS) + 1
        raise SourceError(f"the text is longer than the limit MAX_SOURCE_CHARS = "
                          f"{MAX_SOURCE_CHARS:,} characters ({len(text):,}); the limit is "
                          f"crossed on this line", line=line, column=None).with_source(
                              source, filename)
    _check_tokens(source, text, filename)
    try:
        try:
            tree = flatten_chains(_parser().parse(source))
            _check_nesting(tree)
            conventions, defs = _Builder().transform(tree)
        except VisitError as err:  # the builder's own rule checks (argument order)
            if isinstance(err.orig_exc, SymparamError):
                raise err.orig_exc from None
            raise
        convention = _check_conventions(conventions, defs)
    except UnexpectedInput as err:
        raise _within(_syntax_error(err, source), source, text).with_source(
            source, filename) from None
    except SourceError as err:
        raise err.with_source(source, filename) from None
    except RecursionError:
        raise SymparamError("the text is nested too deeply to parse") from None
    return ast.Document(defs, convention, source, filename)


def parse_fragment(text: str, start: str):
    """The parse tree of one formula or condition (the grammar's ``formula`` and
    ``condition`` rules); a syntax error names its column, with a caret.

    >>> str(parse_fragment("d % h == 0", "condition").data)
    'condition'
    """
    try:
        tree = flatten_chains(_fragment_parser().parse(text, start=start))
        _check_nesting(tree)  # before the (recursive) reader walks it
        return tree
    except UnexpectedInput as err:
        raise _syntax_error(err, text).with_source(text) from None
    except SourceError as err:
        raise err.with_source(text) from None
    except RecursionError:
        raise SymparamError(f"the {start} is nested too deeply to read") from None


def parse_file(path: str | Path) -> ast.Document:
    """Read and parse a file; a missing or unreadable file is a clear error. Its line
    ends are read by :func:`parse`'s rule, exactly as the same text given directly."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")  # not read_text: no newline translation
    except FileNotFoundError:
        raise SymparamError(f"no such file: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SymparamError(f"cannot read {p}: {err}") from None
    return parse(text, filename=str(path))
