"""Hostile Jinja templates for ``symparam derive --template``.

A template is a few ordinary lines (as docs/derivations.md's report uses the
context) and one to three hostile snippets:

- attribute escapes: ``__class__``, ``__mro__``, ``__subclasses__``, ``__globals__``,
  ``__init__``, through ``.``, ``[...]``, ``|attr`` (with ``\\x5f`` escapes and ``~``),
  from the context (``model``, ``stats``, ``math``, ``at``) and Jinja's own globals
  (``cycler``, ``joiner``, ``namespace``, ``lipsum``, ``range``, ``self``);
- Python code as text, alone or in tuples, lists and dicts (nested), given to every
  filter and every printer method the context offers, and to Jinja's filters;
- formatting tricks (``'{0.__class__}'.format(x)``, ``'%s' % at``, ``|string``,
  ``|pprint``, ``|tojson``), which could print an object's repr;
- huge loops and output, constant-folded powers, recursive macros and includes.

The code payloads would leave canaries if run (:mod:`fuzz.target`): a file
``FUZZ_CANARY_WRITTEN`` in the worker's folder, the product ``123456789 * 987654321``
printed on the worker's stdout, the secret of the environment variable
``SYMPARAM_FUZZ_SECRET`` in any output, or the module ``this`` imported.
"""
from __future__ import annotations

import random

from .cases import TEMPLATE, Case

CANARY_FILE = "FUZZ_CANARY_WRITTEN"
CANARY_PRINT = str(123456789 * 987654321)
SECRET_ENV = "SYMPARAM_FUZZ_SECRET"
CANARY_MODULES = ("this", "__hello__", "__phello__", "antigravity")

CODE = (
    f"open('{CANARY_FILE}', 'w')",
    "print(123456789*987654321)",
    f"print(__import__('os').environ['{SECRET_ENV}'])",
    f"__import__('os').environ['{SECRET_ENV}']",
    "__import__('this')",
    f"exec(\"open('{CANARY_FILE}', 'w')\")",
    "eval(\"print(123456789*987654321)\")",
    "Symbol('x').__class__.__mro__[-1].__subclasses__()",
    "lambda: print(123456789*987654321)",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "x + 1", "n*h", "1/0", "2**2**2**2**2**2", "x" * 5000, "(" * 500,
)
CONTAINERS = ("{p}", "({p},)", "[{p}]", "{{{p}: 1}}", "{{'a': {p}}}", "(1, ({p}, 2))",
              "[[{p}]]", "({p}, {p})", "[1, {p}]|list", "{p}|list", "({p},)|list|first",
              "{{'a': [{p}]}}.values()|list")
FILTERS = ("latex", "text", "formula", "num", "tex", "md", "md_escape", "int", "float",
           "sum", "string", "length", "list", "first", "join", "tojson", "pprint", "abs",
           "round", "unique", "sort", "max", "min", "trim", "center(100000000)", "indent(9)",
           "wordwrap(1)", "format", "e", "safe", "urlencode", "xmlattr", "dictsort")
CALLS = ("at({x})", "math({x})", "tex_math({x})", "text_math({x})", "math.number({x})",
         "math.dim({x})", "math.shape({x})", "math.batch_shape({x})", "math.shape_at({x})",
         "math.with_values({x})", "math.text({x})", "math.factor({x})", "math.product({x})",
         "math.terms({x})", "math.term({x})", "math.join({x})", "math.inline({x})",
         "math.layer_chain({x})", "math.total_chain({x})", "math.rule({x})",
         "math.result({x})", "math.align('x', {x})", "math.align({x}, [])",
         "math.room({x})", "math.table_fits({x})", "math.shape_chain({x}, 0)",
         "math.total_room({x})", "text_math.with_values({x})", "text_math.terms({x})",
         "'{{}}'.format({x})", "lipsum({x})", "range({x})", "cycler({x}).next()",
         "namespace({x})", "dict(a={x})", "joiner({x})()")
ESCAPES = (
    "''.__class__.__mro__[1].__subclasses__()", "''.__class__.__mro__",
    "model.__class__.__init__.__globals__", "stats.__init__.__globals__['os']",
    "cycler.__init__.__globals__.os.environ", "joiner.__init__.__globals__",
    "namespace.__init__.__globals__", "lipsum.__globals__['os']",
    "lipsum.__globals__.os.environ." + SECRET_ENV, "range.__self__",
    "self.__init__.__globals__", "self._TemplateReference__context",
    "math.__class__.__mro__", "math.__dict__", "at.__globals__",
    "at.__closure__[0].cell_contents", "model.layers[0].layer.__class__",
    "stats.layers[0].__dict__", "stats.document", "stats.doc", "math.stats.document",
    "math.stats", "tex_math.names", "model|attr('__class__')",
    "model|attr('\\x5f\\x5fclass\\x5f\\x5f')", "model|attr('__cla' ~ 'ss__')",
    "model['__class__']", "model['__cla' ~ 'ss__']['__init__']",
    "(model.totals|first).expr.func", "(model.totals|first).expr.subs",
    "(model.totals|first).expr.subs({'n': 1})", "(model.totals|first).expr.evalf()",
    "(model.totals|first).expr.__class__.__init__", "stats.total.free_symbols",
    "stats.total.atoms()", "stats.value(stats.total)", "stats.at(stats.total)", "stats.at",
    "model.symbols[0].symbol.name", "model.symbols[0].symbol.func('x')",
    "model.layers|map(attribute='__class__')|list",
    "model.layers|map('attr', '__class__')|list",
    "model.layers|selectattr('__class__.__mro__')|list",
    "model.layers|sort(attribute='__class__')", "model.layers|groupby('__class__')",
    "model.totals|sum(attribute='value')", "model.layers|batch(100000000)|list",
    "'a'|attr('__class__')", "stats|tojson", "model|pprint", "model|string",
    "model.layers[0].layer|string", "'%s'|format(at)", "at|string", "at", "math", "model",
    "stats", "self", "cycler", "lipsum", "range", "namespace", "joiner", "dict",
    "'{0.__class__}'.format(model)", "'{0.__init__.__globals__}'.format(at)",
    "'%s' % at", "'%r' % (model,)", "'{}'.format(math)", "'{:>100000000}'.format('x')",
    "'x' * 100000000", "'%0100000000d' % 1", "9 ** 9 ** 9", "10 ** 10000000",
    "range(100000)|list|length", "(range(100000)|list) * 1000",
    "lipsum(100000, false, 100000, 100000)", "cycler(*range(100000))",
    "model.name.__class__", "model.name|attr('format')('{0.__class__}', model)",
    "model.name.format_map", "[].append", "{}.update", "model.layers.append(1)",
    "model.values.update({'n': 1})", "model.layers.__setitem__(0, 1)",
    "math.align|string", "tex_math.__call__", "text_math.__init__",
    "'' ~ model.symbols[0].symbol", "model.totals[0].expr|int",
    "model.totals[0].expr|float", "model.totals[0].expr * 10 ** 100000",
    "model.totals[0].expr ** model.totals[0].expr",
    "(model.totals[0].expr ** 100000)|latex",
)
STATEMENTS = (
    "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ model|string }}{% endfor %}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(0) }}",
    "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
    "{% include '{name}' %}", "{% extends '{name}' %}", "{% import '{name}' as x %}{{ x }}",
    "{% include '../../../../../etc/passwd' %}", "{% include '/etc/passwd' %}",
    "{% include 'FUZZ_CANARY_WRITTEN' %}",
    "{% set x = model.layers %}{% set _ = x.append(1) %}",
    "{% set ns = namespace(a=1) %}{% set ns.a = ns.__class__ %}{{ ns.a }}",
    "{% set ns = namespace() %}{% set ns.__class__ = 1 %}",
    "{% set d = {} %}{% set _ = d.update({'a': 1}) %}{{ d }}",
    "{% do model.layers.append(1) %}", "{% raw %}", "{{", "{% for %}", "{{ model.name",
    "{% endfor %}", "{% for x in model.layers recursive %}{{ loop(model.layers) }}{% endfor %}",
    "{% for x in model.layers %}{{ loop.__class__ }}{% endfor %}",
    "{% filter upper %}{{ at }}{% endfilter %}", "{% with a = at %}{{ a }}{% endwith %}",
    "{% call(x) range(3) %}{% endcall %}", "{% set x %}{{ at }}{% endset %}{{ x }}",
    "{% autoescape false %}{{ at }}{% endautoescape %}",
    "{% block b %}{{ self.b() }}{% endblock %}",
    "{{ caller() }}", "{{ varargs }}", "{{ kwargs }}", "{{ super() }}", "{{ loop }}",
)
ORDINARY = (
    "## {{ model.name }} ({{ model.convention_name }})",
    "{% for f in model.layers if f.weights %}| {{ f.name | md }} | {{ f.value | num }} | "
    "${{ f.params | latex }}$ |\n{% endfor %}",
    "{% set t = model.totals[0] %}$${{ math.text(t.label) }} = {{ math.inline(math.total_chain(t)) }}$$",
    "{{ model.totals[0].expr | text }} = {{ at(model.totals[0].expr) }}",
    "{% for s in model.symbols %}{{ s.name }}={{ s.value }} {% endfor %}",
)
SOURCES = (
    "model mlp(n = 4096, h = 512, k = 80):\n    input [n]\n    dense h, activation = relu\n"
    "    batchnorm\n    dropout 0.5\n    dense k, activation = sigmoid\n",
    "convention torch\n\nmodel small(C = 3, H = 32, W = 32):\n    input [C, H, W]\n"
    "    conv2d 16, 3, padding = 1\n    batchnorm\n    maxpool2d 2\n    flatten\n    dense 10\n",
    "model gpt(d_model = 768 \"d_{\\text{model}}\", n_ctx = 1024 \"T\", V = 50257 \"|V|\"):\n"
    "    input [n_ctx]\n    embedding V, d_model as wte\n    dense V, bias = false, tie = wte\n",
    "model sym(n, h):\n    input [n]\n    dense h\n    dense 2 * h\n",
)
NAMES = ("t.md.j2", "t.md.j2", "t.tex.j2", "t.txt", "t.tex")


def _payload(rng: random.Random) -> str:
    code = rng.choice(CODE)
    quoted = repr(code) if rng.random() < 0.8 else '"' + code.replace('"', "'") + '"'
    return rng.choice(CONTAINERS).format(p=quoted)


def hostile(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.35:
        x = _payload(rng)
        if rng.random() < 0.5:
            return "{{ " + x + " | " + rng.choice(FILTERS) + " }}"
        return "{{ " + rng.choice(CALLS).format(x=x) + " }}"
    if r < 0.85:
        return "{{ " + rng.choice(ESCAPES) + " }}"
    return rng.choice(STATEMENTS).replace("{name}", name)


def to_latex_delimiters(text: str) -> str:
    return (text.replace("{{", "\\VAR{").replace("}}", "}")
            .replace("{%", "\\BLOCK{").replace("%}", "}"))


def template_case(rng: random.Random) -> Case:
    name = rng.choice(NAMES)
    lines = [rng.choice(ORDINARY) for _ in range(rng.randint(0, 2))]
    for _ in range(rng.choice((1, 1, 2, 3))):
        lines.insert(rng.randint(0, len(lines)), hostile(rng, name))
    text = "\n".join(lines) + "\n"
    if ".tex" in name:
        text = to_latex_delimiters(text)
    if rng.random() < 0.05:
        text = text.replace(" ", rng.choice(("\x00", "\u2028", "\t", "\r")))
    return Case("template", TEMPLATE, text, source=rng.choice(SOURCES), name=name)
