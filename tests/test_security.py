"""Hostile input (issue 8, security): no user text reaches sympy's parser or Python's
eval, templates are sandboxed and bounded, formulas and conditions are read by
symparam's own grammar.

Every injection test checks that nothing ran: no file appeared, nothing was printed.
Tests that guard against a hang run the case in a subprocess under a 20 s watchdog
and assert the outcome, not a time.
"""
from __future__ import annotations

import ast as pyast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from symparam import SymparamError, analyze
from symparam.analysis.targets import parse_condition
from symparam.exprs import NotAFormula, as_expr
from symparam.limits import (MAX_DIGITS, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_OUTPUT,
                             MAX_TEMPLATE_STEPS)
from symparam.parser import parse_file
from symparam.render import read_formula
from symparam.render.data import model_dict
from symparam.render.document import render_template
from symparam.render.fmt import formula
from symparam.render.sandbox import Sandbox
from symparam.values import symbol

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "symparam"
MLP = "model m(n = 4, h = 2):\n    input [n]\n    dense h\n"


@pytest.fixture
def mlp():
    return analyze(MLP)


def _render(tmp_path, mlp, body: str, name: str = "t.md") -> str:
    path = tmp_path / name
    path.write_text(body)
    return render_template(mlp, path)


def _cli(tmp_path, *args, timeout=20):
    return subprocess.run([sys.executable, "-m", "symparam", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


# ---- 1. no sympify, parse_expr, eval or exec in the package ------------------------

_HOOK = re.compile(r"sympify\(|parse_expr\(|[^.]eval\(")
_CALLS = {"sympify", "parse_expr", "eval", "exec", "lambdify"}


def _calls_to_code(path: Path) -> list[str]:
    """Calls that turn text into code: sympify, parse_expr, eval, exec, lambdify,
    sympy.S(...) and the builtin compile()."""
    found = [f"{path.name}: {m.group(0)}" for m in _HOOK.finditer(path.read_text())]
    for node in pyast.walk(pyast.parse(path.read_text())):
        if not isinstance(node, pyast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, pyast.Name) else f.attr if isinstance(
            f, pyast.Attribute) else ""
        if name in _CALLS or (isinstance(f, pyast.Name) and name == "compile") or (
                isinstance(f, pyast.Attribute) and name == "S"
                and isinstance(f.value, pyast.Name) and f.value.id == "sympy"):
            found.append(f"{path.name}:{node.lineno}: {name}(")
    return found


def test_the_package_never_turns_text_into_code():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _calls_to_code(path)]
    assert found == []


def test_the_scan_finds_such_calls(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sympy\nx = sympy.sympify(t)\ny = eval(t)\nexec(t)\nz = sympy.S(t)\n")
    assert len(_calls_to_code(bad)) >= 4


@pytest.mark.parametrize("value", ["h*(n + 1)", ("__import__('os').getcwd()",),
                                   {"k": "1"}, ["1"], 0.5, object(), b"1"])
def test_as_expr_refuses_anything_symparam_does_not_produce(value):
    with pytest.raises(NotAFormula, match="a formula is expected here"):
        as_expr(value)


def test_as_expr_keeps_what_symparam_produces():
    from fractions import Fraction
    import numpy as np
    assert as_expr(3) == sympy.Integer(3) and as_expr(np.int64(3)) == 3
    assert as_expr(Fraction(1, 2)) == sympy.Rational(1, 2)
    assert as_expr(True) is sympy.true
    n = symbol("n")
    assert as_expr(n + 1) == n + 1


def test_the_public_api_refuses_text_as_a_formula(mlp, capfd, tmp_path):
    for call in (mlp.at, mlp.value):
        with pytest.raises(SymparamError, match="a formula is expected here, not the text"):
            call("__import__('os').system('echo PWNED')")
    assert "PWNED" not in capfd.readouterr().out


# ---- 2. formulas and conditions read by symparam's grammar ------------------------

def _expressions(stats):
    """Every expression the --json output prints as a formula."""
    yield from (stats.total, stats.trainable, stats.non_trainable, stats.buffers)
    for layer in stats.layers:
        yield from (layer.params, layer.trainable, layer.non_trainable, layer.buffers,
                    layer.multiplier, *layer.output_shape)
        for shape in layer.input_shapes:
            yield from shape
        for w in layer.weights:
            yield from (w.size, *w.shape)
    yield from (d for d in stats.defaults.values() if d is not None)


def _models():
    files = sorted((ROOT / "docs" / "examples").glob("*.symp")) + sorted(
        (ROOT / "zoo").glob("*.symp"))
    for path in files:
        for model in parse_file(path).models:
            yield path, model


@pytest.mark.parametrize("path, model", list(_models()),
                         ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_every_formula_symparam_writes_reads_back_equal(path, model):
    checked = 0
    for convention in ("keras", "torch"):
        try:
            stats = analyze(path, model=model, convention=convention)
        except SymparamError:
            continue  # a model one framework cannot build (PyTorch's strided 'same')
        names = [s.name for s in stats.symbols]
        for expr in _expressions(stats):
            expr = as_expr(expr)
            assert read_formula(formula(expr), names) == expr, formula(expr)
            checked += 1
        doc = model_dict(stats)
        for key in ("total", "trainable", "non_trainable", "buffers"):
            if "at_values" in doc[key]:
                assert read_formula(doc[key]["at_values"], names) == stats.at(
                    getattr(stats, key))
    assert checked > 0


@pytest.mark.parametrize("text, expected", [
    ("ceiling(H/2) + floor(H/3) + ceil(H/5)", sympy.ceiling(symbol("H") / 2)
     + sympy.floor(symbol("H") / 3) + sympy.ceiling(symbol("H") / 5)),
    ("2*(H + 1) - (H - 1)/2", sympy.Mul(2, symbol("H") + 1, evaluate=False)
     - sympy.Mul(sympy.Rational(1, 2), symbol("H") - 1, evaluate=False)),
    ("Max(H, 3)*Min(H, 2) - Mod(H, 4)", sympy.Max(symbol("H"), 3) * sympy.Min(symbol("H"), 2)
     - sympy.Mod(symbol("H"), 4)),
    ("sqrt(H)*Abs(H - 5)/3", sympy.sqrt(symbol("H")) * sympy.Abs(symbol("H") - 5) / 3),
    ("H**2 + 3/2", symbol("H")**2 + sympy.Rational(3, 2)),
    ("-H // 2 + 7 % 3", sympy.floor(-symbol("H") / 2) + 1),
])
def test_read_formula_reads_the_functions_symparam_prints(text, expected):
    assert read_formula(text, ["H"]) == expected


INJECTIONS = [
    ("__import__('os').system('echo PWNED')", "column 12: unexpected character"),
    ("print('PWNED')", "column 7: unexpected character"),
    ("print(1)", "column 1: unknown function 'print'"),
    ("(lambda: 1)()", "column 8: unexpected ':'"),
    ("n.__class__", "column 1: a tensor's size \\(in.channels\\) is not part of a formula"),
    ("eval(n)", "column 1: unknown function 'eval'"),
    ("[n for n in n]", "column 4: unexpected 'for'"),
    ('"n"', "column 1: text is not part of a formula"),
    ("x + n", r"column 1: unknown symbol x \(the model's symbols: n, h\)"),
    ("10**10**10", r"the exponent 10000000000 is larger than 1,000 \(MAX_DIGITS\)"),
]


@pytest.mark.parametrize("text, message", INJECTIONS)
def test_read_formula_refuses_python(text, message, capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SymparamError, match=message):
        read_formula(text, ["n", "h"])
    assert "PWNED" not in capfd.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, message", [
    ("d %% h == 0 and __import__('os').system('echo PWNED') == 0", "column 4: unexpected '%'"),
    ("__import__('os').system('echo PWNED') == 0", "column 12: unexpected character"),
    ("print(d) == 0", "column 1: unknown function 'print'"),
    ("d.real == 0", "column 1: a tensor's size \\(in.channels\\) is not part of a formula"),
    ("d == 0 or", "the text ends too early"),
])
def test_conditions_refuse_python(text, message, capfd):
    stats = analyze("model g(d = 64, h = 8):\n    input [d]\n    dense h\n")
    with pytest.raises(SymparamError, match=message):
        parse_condition(text, stats)
    assert "PWNED" not in capfd.readouterr().out


def test_a_condition_error_shows_the_text_and_a_caret():
    stats = analyze("model g(d = 64, h = 8):\n    input [d]\n    dense h\n")
    with pytest.raises(SymparamError) as err:
        parse_condition("d %% h == 0", stats)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("bad condition 'd %% h == 0': column 4: unexpected '%'")
    assert lines[1:] == ["    d %% h == 0", "       ^"]


def test_conditions_join_with_and_or_not():
    stats = analyze("model g(d = 64, h = 8):\n    input [d]\n    dense h\n")
    d, h = symbol("d"), symbol("h")
    assert parse_condition("d % h == 0 and d >= 64", stats) == [
        sympy.Eq(sympy.Mod(d, h), 0), d >= 64]
    (cond,) = parse_condition("d < 8 or not (d != 2*h)", stats)
    assert cond.subs({d: 16, h: 8}) == sympy.true and cond.subs({d: 10, h: 8}) == sympy.false


def test_where_on_the_command_line_executes_nothing(tmp_path):
    model = tmp_path / "g.symp"
    model.write_text("model g(d = 64, L = 2):\n    input [d]\n    repeat L:\n        dense d\n")
    out = _cli(tmp_path, "solve", str(model), "--for", "d", "--target", "params=10000",
               "--where", f"__import__('pathlib').Path('{tmp_path}/PWNED').touch() == 0")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "unexpected character" in out.stderr
    assert not (tmp_path / "PWNED").exists()


# ---- 3. templates: sandboxed and bounded -------------------------------------------

ISSUE_TEMPLATES = [
    "{{ at((\"__import__('os').getcwd()\",)) }}",
    "{{ (\"__import__('pathlib').Path('PWNED').write_text('x')\",) | latex }}",
    "{{ {\"k\": \"__import__('os').environ['HOME']\"} | text }}",
    "{{ \"__import__('pathlib').Path('PWNED').write_text('x')\" | formula }}",
    "{{ [\"__import__('pathlib').Path('PWNED').write_text('x')\"] | num }}",
    "{{ math((\"__import__('pathlib').Path('PWNED').write_text('x')\",)) }}",
    "{{ math.terms([\"__import__('pathlib').Path('PWNED').write_text('x')\"]) }}",
    "{{ math.shape([\"__import__('pathlib').Path('PWNED').write_text('x')\"]) }}",
    "{{ stats.total + \"__import__('pathlib').Path('PWNED').write_text('x')\" }}",
]


@pytest.mark.parametrize("body", ISSUE_TEMPLATES)
def test_text_handed_to_a_formula_path_is_refused(body, tmp_path, mlp, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SymparamError, match=r"line 1: refused: a formula is expected here"):
        _render(tmp_path, mlp, body)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]


def test_a_namespace_cannot_pose_as_the_analysis(tmp_path, mlp):
    body = ("{{ math.layer_chain(namespace(weights=[], per_copy='1', multiplier=10**6, "
            "at_values='1')) }}")
    with pytest.raises(SymparamError, match="refused"):
        _render(tmp_path, mlp, body)


LIMITED = [
    ("{{ 'x' * 10**10 }}", r"repeating a text or list 10,000,000,000 times exceeds the limit "
                            r"\(MAX_TEMPLATE_OUTPUT = 10,000,000"),
    ("{{ [1, 2] * 10**9 }}", "repeating a text or list"),
    ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
     r"the output is larger than 10,000,000 characters \(MAX_TEMPLATE_OUTPUT\)"),
    ("{{ (10 ** 5000) | string }}", r"line 1: a number of more than 1,000 digits \(MAX_DIGITS\)"),
    ("{{ 7 ** 7 ** 7 ** 7 ** 7 }}", r"more than 1,000 digits \(MAX_DIGITS\)"),
    ("{{ stats.total ** 100000 }}", r"an exponent larger than 1,000 \(MAX_DIGITS\)"),
    ("{{ at(stats.total ** (2 ** 20)) }}", r"MAX_DIGITS"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
     r"line 1: the template recurses too deeply \(more than 50 nested calls; MAX_TEMPLATE_DEPTH\)"),
    ("{% include 't.md' %}", "the template recurses too deeply"),
    ("{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s | length }}{% endmacro %}"
     "{{ f('x', 40) }}", "joining these with ~ exceeds the limit"),
    ("{{ '{:>999999999}'.format(1) }}", r"a format width of 999,999,999"),
    ("{{ '%999999999d' % 1 }}", r"a format width of 999,999,999"),
    ("{{ '%*d' % (999999999, 1) }}", r"a '\*' width in a format is not allowed"),
    ("{{ '%s' | format('x' * 20000000) }}", "repeating a text or list"),
    ("{{ 'x' | center(10**9) }}", "the filter center with width 1,000,000,000"),
    ("{{ 'x\nx' | indent(10**8) }}", "the filter indent"),
    ("{{ 'x'.ljust(10**9) }}", "a width of 1,000,000,000"),
    ("{{ ('x' * 10000).replace('x', 'x' * 10000) }}", "this replacement exceeds the limit"),
    ("{{ ('\t' * 1000).expandtabs(10**6) }}", "expanding these tabs"),
    ("{{ range(10**9) | length }}", r"Range too big"),
    ("{{ [1] | batch(10**9, 'x') | list | length }}",
     r"the filter batch with 1,000,000,000 parts takes more than 100,000 steps"),
    ("{{ range(10) | slice(10**9) | list | length }}", "the filter slice"),
    ("{{ ('x' * 100000) | replace('x', 'y' * 1000) }}", "this replacement exceeds the limit"),
    ("{{ ('x ' * 1000000) | wordwrap(2, wrapstring='y' * 1000) }}",
     "the filter wordwrap exceeds the limit"),
    ("{{ ('9' * 2000) | int }}", r"a number of more than 1,000 digits \(MAX_DIGITS\)"),
    ("{{ lipsum(n=10**6) }}", "'lipsum' is undefined"),
]


@pytest.mark.parametrize("body, message", LIMITED)
def test_template_limits(body, message, tmp_path, mlp):
    with pytest.raises(SymparamError, match=message):
        _render(tmp_path, mlp, body)


def test_the_issues_nested_loop_stops_within_the_step_budget(tmp_path):
    model = tmp_path / "m.symp"
    model.write_text(MLP)
    template = tmp_path / "t.md"
    template.write_text("{% for i in range(100000) %}{% for j in range(100000) %}"
                        "{{ i }}{% endfor %}{% endfor %}\n")
    out = _cli(tmp_path, "derive", str(model), "--template", str(template))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (f"line 1: the template takes more than {MAX_TEMPLATE_STEPS:,} steps"
            in out.stderr)


@pytest.mark.parametrize("body", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) recursive %}{{ loop(range(100000)) }}{% endfor %}",
    "{{ range(100000) | map('string') | map('center', 100000) | join }}",
])
def test_loops_that_would_hang_stop(body, tmp_path, mlp):
    with pytest.raises(SymparamError, match="MAX_TEMPLATE_(STEPS|DEPTH|OUTPUT|WORK)"):
        _render(tmp_path, mlp, body)


@pytest.mark.parametrize("body", [
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''.__class__.mro() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self._TemplateReference__context }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ '{0.__class__}'.format(stats) }}",
    "{{ '{0.__init__.__globals__}'.format(at) }}",
    "{{ at.__globals__ }}",
    "{{ at.__code__ }}",
    "{{ math.__init__ }}",
    "{{ stats.total.evalf() }}",
    "{{ stats.total.subs(stats.symbols[0], 1) }}",
    "{{ stats.total.func }}",
    "{{ stats.total.args }}",
    "{{ stats.total.free_symbols }}",
    "{{ stats.layers[1].weights[0].size.xreplace }}",
    "{{ stats.at(stats.total) }}",
    "{{ stats.document.source }}",
    "{{ stats.values.update({}) }}",
])
def test_hostile_attribute_access_is_refused(body, tmp_path, mlp):
    with pytest.raises(SymparamError, match=r"line 1: refused"):
        _render(tmp_path, mlp, body)


def test_a_slow_call_inside_the_template_is_stopped_by_the_timer(tmp_path, mlp, monkeypatch):
    # align() loops in Python, out of the budget's sight: the timer stops it.
    import symparam.render.sandbox as sandbox
    monkeypatch.setattr(sandbox, "MAX_TEMPLATE_SECONDS", 1)
    with pytest.raises(SymparamError, match=r"the template ran longer than 1 s "
                                            r"\(MAX_TEMPLATE_SECONDS\)"):
        _render(tmp_path, mlp, "{{ math.align('x', [['a'] * 1000000], 10**9) | length }}")


@pytest.mark.parametrize("name, message", [
    (".ssh/id_rsa", r"refused: a template may not read the hidden file '.ssh/id_rsa'"),
    (".env", "refused: a template may not read the hidden file"),
    ("../secret.txt", r"no such template '../secret.txt' \(a template reads only files in "
                      r"its own folder\)"),
])
def test_a_template_reads_only_visible_files_in_its_folder(name, message, tmp_path, mlp):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    (tmp_path / ".env").write_text("PASSWORD")
    (tmp_path / "t").mkdir()
    (tmp_path / "secret.txt").write_text("SECRET")
    path = tmp_path / ("t" if name.startswith("..") else ".") / "t.md"
    path.write_text("{% include '" + name + "' %}")
    with pytest.raises(SymparamError, match=message):
        render_template(mlp, path)


def test_a_template_includes_its_neighbours(tmp_path, mlp):
    (tmp_path / "part.md").write_text("{{ model.name }}")
    assert _render(tmp_path, mlp, "[{% include 'part.md' %}]") == "[m]"


def test_templates_still_render_what_they_may(tmp_path, mlp):
    body = ("{{ model.name }} {{ stats.total | formula }} {{ at(stats.total) | num }} "
            "{{ (stats.total * 2) | text }} {{ '%5d|%s' % (3, 'a') }} "
            "{{ '{:>4}'.format(7) }} {{ ('ab' ~ 'c') * 2 }} "
            "{% for w in stats.layers[1].weights %}{{ w.name }},{% endfor %}\n")
    assert _render(tmp_path, mlp, body) == (
        "m h*(n + 1) 10 2*h*(n + 1)     3|a    7 abcabc kernel,bias,")


def test_a_models_symbolic_exponent_renders_and_repeated_squaring_is_refused(tmp_path):
    stats = analyze("model p(k = 3, n = 4):\n    input [n]\n    dense 2**k\n")
    path = tmp_path / "t.md"
    path.write_text("{{ stats.total | text }} = {{ at(stats.total) | num }}")
    assert render_template(stats, path) == "2**k*(n + 1) = 40"
    path.write_text("{% macro sq(x, n) %}{{ sq(x * x, n - 1) if n else at(x) }}{% endmacro %}"
                    "{{ sq(stats.total, 45) }}")
    with pytest.raises(SymparamError, match=r"a power with exponent 1024(\*k)?: a template.s "
                                            r"exponents hold numbers of at most 1,000"):
        render_template(stats, path)


def test_a_template_syntax_error_keeps_its_line(tmp_path, mlp):
    with pytest.raises(SymparamError, match=r"t.md, line 2: unexpected '}'"):
        _render(tmp_path, mlp, "ok\n{{ model.name }\n")


def test_an_undefined_variable_keeps_its_line(tmp_path, mlp):
    with pytest.raises(SymparamError, match=r"t.md, line 3: 'nothing' is undefined"):
        _render(tmp_path, mlp, "a\nb\n{{ nothing }}\n")


def test_a_huge_constant_fails_at_compile_time_clearly(tmp_path, mlp):
    with pytest.raises(SymparamError, match="cannot compile it"):
        _render(tmp_path, mlp, "{{ " + "9" * 5000 + " }}")


def test_every_template_environment_is_the_sandbox():
    from symparam.render import cards, document
    assert isinstance(cards._environment(False), Sandbox)
    assert isinstance(cards._environment(True), Sandbox)
    assert isinstance(document._shipped_environment(False), Sandbox)


def test_limits_are_named_constants():
    assert MAX_TEMPLATE_OUTPUT == 10_000_000 and MAX_TEMPLATE_DEPTH == 50
    assert MAX_DIGITS == 1000
    docs = (ROOT / "docs" / "language.md").read_text()
    for name in ("MAX_TEMPLATE_SECONDS", "MAX_TEMPLATE_STEPS", "MAX_TEMPLATE_DEPTH",
                 "MAX_TEMPLATE_OUTPUT", "MAX_TEMPLATE_WORK"):
        assert name in docs, name


def test_the_cli_reports_a_hostile_template_without_traceback(tmp_path):
    model = tmp_path / "m.symp"
    model.write_text(MLP)
    template = tmp_path / "t.md"
    template.write_text("{{ ('__import__(\"pathlib\").Path(\"PWNED\").touch()',) | latex }}\n")
    out = subprocess.run([sys.executable, "-m", "symparam", "derive", str(model),
                          "--template", str(template)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env={**__import__("os").environ,
                                                     "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "refused: a formula is expected here, not a tuple" in out.stderr
    assert not (tmp_path / "PWNED").exists()
