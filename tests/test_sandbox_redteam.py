"""Red-team findings on the template sandbox: files read through symbolic links,
Python reprs printed through conversions to text that happen before ``{{ }}``'s
check, and work done in C past the time limit. Each is refused with a clear error."""
from __future__ import annotations

import os
import time

import pytest

import symparam
from symparam import SymparamError
from symparam.render.document import render_template

MLP = "model m(n = 4, h = 2):\n    input [n]\n    dense h\n"


@pytest.fixture(scope="module")
def mlp():
    return symparam.analyze(MLP)


def _render(folder, stats, body, name="t.md"):
    path = folder / name
    path.write_text(body + "\n")
    return render_template(stats, path)


# ---- 1. symbolic links --------------------------------------------------------------

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")


@pytest.fixture
def linked(tmp_path):
    """A template folder with a link to a file and to a folder outside it, and a
    secret next to the folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET-CONTENT\n")
    folder = tmp_path / "tpl"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("SECRET-CONTENT\n")
    os.symlink(outside / "secret.txt", folder / "pw")
    os.symlink(outside, folder / "etcdir")
    (folder / "ok.md").write_text("fine\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.md").write_text("inner\n")
    return folder


@needs_symlinks
@pytest.mark.parametrize("body, what", [
    ("{% include 'pw' %}", "the file 'pw'"),
    ("{% extends 'pw' %}", "the file 'pw'"),
    ("{% import 'pw' as x %}", "the file 'pw'"),
    ("{% include 'etcdir/secret.txt' %}", "the folder 'etcdir'"),
    ("{% include ['../secret.txt', 'pw'] %}", "the file 'pw'"),
    ("{% include ['missing.md', 'pw'] %}", "the file 'pw'"),
])
def test_a_template_is_never_read_through_a_symbolic_link(linked, mlp, body, what):
    with pytest.raises(SymparamError, match=rf"refused: .*symbolic link \({what}\)") as err:
        _render(linked, mlp, body)
    assert "SECRET" not in str(err.value)


@needs_symlinks
def test_a_symlinked_template_itself_is_refused(linked, mlp):
    os.symlink(linked / "ok.md", linked / "main.md")
    with pytest.raises(SymparamError, match=r"refused: .*symbolic link \(the file 'main.md'\)"):
        render_template(mlp, linked / "main.md")


@needs_symlinks
def test_a_link_inside_the_folder_is_refused_too(linked, mlp):
    # A link is refused even when its target lies inside the folder.
    os.symlink(linked / "ok.md", linked / "alias.md")
    with pytest.raises(SymparamError, match=r"symbolic link \(the file 'alias.md'\)"):
        _render(linked, mlp, "{% include 'alias.md' %}")


@needs_symlinks
def test_a_folder_reached_through_a_link_still_works_when_real(tmp_path, mlp):
    # The template's own folder may be given through a link: the real paths are compared.
    real = tmp_path / "real"
    real.mkdir()
    (real / "part.md").write_text("part\n")
    os.symlink(real, tmp_path / "via")
    (real / "t.md").write_text("{% include 'part.md' %}\n")
    assert render_template(mlp, tmp_path / "via" / "t.md") == "part\n"


def test_files_in_the_folder_still_load(linked, mlp):
    assert _render(linked, mlp, "{% include 'ok.md' %}{% include 'sub/inner.md' %}") \
        == "fine\ninner\n"


# ---- 2. Python's reprs through conversions to text ----------------------------------

@pytest.mark.parametrize("body", [
    "{{ at|string }}",
    "{{ (at|string)|upper }}",
    "{{ (at|string)|lower }}",
    "{{ (math|string)|e }}",
    "{{ (math|string)[:-1] }}",
    "{{ math|wordwrap }}",
    "{{ math|urlencode }}",
    "{{ math|replace('a', 'b') }}",
    "{{ '%s'|format(math) }}",
    "{{ '%(a)s'|format(a=math) }}",
    "{{ '{}'.format(math) }}",
    "{{ '{a}'.format_map({'a': math}) }}",
    "{{ [math]|join }}",
    "{{ [1, math]|join(', ') }}",
    "{{ [1, 2]|join(at) }}",
    "{{ math|pprint }}",
    "{{ math|trim }}",
    "{{ math|title }}",
    "{{ math|capitalize }}",
    "{{ math|center(80) }}",
    "{{ math|truncate(300) }}",
    "{{ math ~ '' }}",
    "{{ ('' ~ math)[:5] }}",
    "{% for x in [1] %}{{ loop|string }}{% endfor %}",
    "{% macro m() %}{% endmacro %}{{ m|string }}",
    "{{ self|string }}",
    "{{ range(3)|string }}",
    "{{ stats|string }}",
    "{% set s = at|string %}{{ s|length }}",
])
def test_conversions_to_text_refuse_python_internals(tmp_path, mlp, body):
    with pytest.raises(SymparamError, match=r"line 1: refused: the output would show "
                                            r"Python's internals"):
        _render(tmp_path, mlp, body)


def test_the_errors_name_the_conversion(tmp_path, mlp):
    with pytest.raises(SymparamError, match=r"the filter string .*not an object of type "
                                            r"LoopContext"):
        _render(tmp_path, mlp, "{% for x in [1] %}{{ loop|string }}{% endfor %}")
    with pytest.raises(SymparamError, match=r"str.format .*not a function"):
        _render(tmp_path, mlp, "{{ '{}'.format(at) }}")
    with pytest.raises(SymparamError, match=r"~ .*not a function"):
        _render(tmp_path, mlp, "{{ at ~ '' }}")


@pytest.mark.parametrize("text", [
    "<LoopContext 1/1>", "&lt;Macro 'm'&gt;", "<TemplateReference None>",
    "&lt;function f AT 0X7FA0940BAED0&gt;", "<CLASS 'int'>", "&lt;class &#39;int&#39;&gt;",
    "<function f at 0x7fa0940baed0>",
])
def test_the_output_backstop_catches_escaped_and_uppercased_reprs(text):
    from symparam.render.sandbox import _PYTHON_REPR
    assert _PYTHON_REPR.search(text)


@pytest.mark.parametrize("body, out", [
    ("{{ model.name|upper }}", "M"),
    ("{{ [1, 2, 'a']|join(', ') }}", "1, 2, a"),
    ("{{ ['a', 'b']|join }}", "ab"),
    ("{{ '%s-%d'|format('a', 3) }}", "a-3"),
    ("{{ '%(x)s'|format(x=1) }}", "1"),
    ("{{ '{}-{:>3}'.format('a', 1) }}", "a-  1"),
    ("{{ '{0.name}'.format(model) }}", "m"),
    ("{{ '{a}'.format_map({'a': 3}) }}", "3"),
    ("{{ 1 ~ 'x' ~ none }}", "1xNone"),
    ("{{ [1, 2]|string }}", "[1, 2]"),
    ("{{ 3.14159|round(2) }}", "3.14"),
    ("{{ 'ab'.translate({97: 'xy'}) }}", "xyb"),
    ("{{ '%s' % 5 }}", "5"),
])
def test_ordinary_conversions_still_work(tmp_path, mlp, body, out):
    assert _render(tmp_path, mlp, body) == out + "\n"


# ---- 3. work done in C, refused before it starts ------------------------------------

@pytest.mark.parametrize("body, message", [
    ("{{ 5 | round(-10000000) }}", r"rounding to -10,000,000 digits.*MAX_DIGITS"),
    ("{{ 5.5 | round(10000000, 'floor') }}", r"rounding to 10,000,000 digits"),
    ("{{ (('x' * 1500) | join('y' * 5000000)) | length }}",
     r"joining these exceeds the limit.*MAX_TEMPLATE_OUTPUT"),
    ("{{ ('x' * 1500) | join('y' * 5000000, attribute='') | length }}",
     r"joining these exceeds the limit|refused|no attribute"),
    ("{{ 'ab'.translate({97: 'x' * 9000000}) | length }}",
     r"this translation exceeds the limit.*MAX_TEMPLATE_OUTPUT"),
    ("{{ 'ab'.translate([1, 2]) }}", r"str.translate takes a dict"),
    ("{{ ('{0}' * 100).format('x' * 1000000) | length }}",
     r"this formatting exceeds the limit.*MAX_TEMPLATE_OUTPUT"),
    ("{{ ('{a}' * 100).format_map({'a': 'x' * 1000000}) | length }}",
     r"this formatting exceeds the limit"),
    ("{{ ('{0:9000000}' * 100).format(1) | length }}", r"exceeds the limit"),
    ("{{ ('%(a)s' * 100 % {'a': 'x' * 1000000}) | length }}",
     r"this % formatting exceeds the limit.*MAX_TEMPLATE_OUTPUT"),
    ("{{ ('%s' * 100 % (('x' * 1000000),) * 100) | length }}", r"exceeds the limit|format"),
    ("{{ (('%s' * 100) | format(*(['x' * 1000000] * 100))) | length }}",
     r"exceeds the limit"),
    ("{{ ('%9000000s' * 100 % ((1,) * 100)) | length }}", r"exceeds the limit"),
])
def test_work_in_c_is_refused_before_it_starts(tmp_path, mlp, body, message):
    start = time.monotonic()
    with pytest.raises(SymparamError, match=message):
        _render(tmp_path, mlp, body)
    assert time.monotonic() - start < 5
