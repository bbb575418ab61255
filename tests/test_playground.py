"""The browser playground (playground/, docs/playground.md) in a real headless Chromium.

playground/build.py assembles the static site into a temporary folder; a local
http.server serves it; Debian's Chromium (/usr/bin/chromium), driven by Playwright, opens
it with every host name but 127.0.0.1 unresolvable, so the page can only work offline from
the built files. The tests type seed 000's model key by key and read 2,140,752 off the
summary, check that KaTeX rendered the derivation's math, open a shareable link, and show
a bad model's one-line error.

Needs npm (Pyodide and KaTeX), chromium and playwright (the `playground` extra): .ci/run
installs them. Missing, the tests skip saying why, and fail when CI is set.

The numbers are not symparam's: 2,140,752 is Keras's count for seed 000 (see
docs/examples/seed000.symp), and the other counts are worked out by hand in the tests.
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from test_derive_render import _documents, _require, math_fragments

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SYMPARAM_CHROMIUM", "/usr/bin/chromium")
SEED000 = (ROOT / "docs" / "examples" / "seed000.symp").read_text(encoding="utf-8")
# Pyodide's start on a loaded 2-core machine takes up to a minute: generous timeouts.
START_MS = 240_000
ANSWER_MS = 60_000
# Everything but the local server fails to resolve: the page must not need the network.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


def link(model: str, convention: str = "keras") -> str:
    """A shareable hash, made here the way docs/playground.md describes it."""
    code = base64.urlsafe_b64encode(model.encode("utf-8")).decode().rstrip("=")
    return f"#m={code}&c={convention}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require(shutil.which("npm") is not None,
             "the playground needs npm to fetch Pyodide and KaTeX (apt-get install npm)")
    _require(os.access(CHROMIUM, os.X_OK),
             f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does as root)")
    _require(_playwright() is not None,
             "playwright is not installed (pip install -e '.[playground]'; .ci/run does)")
    out = tmp_path_factory.mktemp("playground") / "site"
    done = subprocess.run([sys.executable, str(ROOT / "playground" / "build.py"), "--out",
                           str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on 127.0.0.1, recording every path it served."""
    served: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # quiet; keep the path instead
            served.append(self.path)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/", served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server):
    with _playwright()() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[OFFLINE])
        yield chromium
        chromium.close()


class Playground:
    """One open page, and what it asked of the network outside the server."""

    def __init__(self, browser, base: str, hash_: str = ""):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.context.on("request", lambda r: None if r.url.startswith(base)
                        or r.url.startswith(("data:", "blob:")) else self.outside.append(r.url))
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.goto(base + "index.html" + hash_)
        self.settled(START_MS)

    def settled(self, timeout: int = ANSWER_MS) -> str:
        """Wait until the last edit is answered; "ok" or "error"."""
        self.page.wait_for_function(
            "() => ['ok', 'error'].includes(document.getElementById('status').dataset.state)",
            timeout=timeout)
        return self.page.get_attribute("#status", "data-state")

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def page(browser, server):
    base, _ = server
    opened = Playground(browser, base)
    yield opened
    opened.close()


def test_typing_seed000_shows_its_count_and_renders_the_math(page, server):
    base, served = server
    assert page.settled() == "ok"  # the preloaded example
    assert "Total params: 2,140,752" in page.text("#summary")
    # Replace the text by keystrokes: first empty it (an error: no model), then type.
    page.page.click("#source")
    page.page.keyboard.press("Control+A")
    page.page.keyboard.press("Delete")
    assert page.settled() == "error"
    assert not page.page.is_hidden("#error")
    page.page.keyboard.type(SEED000)
    assert page.settled() == "ok"
    assert page.page.input_value("#source") == SEED000
    summary = page.text("#summary")
    assert "Total params: 2,140,752" in summary
    assert "Trainable params: 2,139,728" in summary and "Non-trainable params: 1,024" in summary
    assert page.page.is_hidden("#error")
    derivation = page.page.locator("#derivation")
    assert derivation.locator(".katex").count() > 20
    # one display per layer with weights (dense, batchnorm, dense_1) and per total
    assert derivation.locator(".katex-display").count() == 6
    assert derivation.locator(".katex-error").count() == 0
    assert "$" not in derivation.inner_text()  # no math left unrendered
    assert "2,140,752" in derivation.inner_text()  # KaTeX's 2{,}140{,}752
    # The hash now holds the typed model (a shareable link).
    code = page.page.evaluate("new URLSearchParams(location.hash.slice(1)).get('m')")
    assert base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)).decode() == SEED000
    # Offline: every file came from the site (the wheels too), nothing from elsewhere.
    assert page.outside == [] and page.errors == []
    assert any(p.startswith("/wheels/sympy-") for p in served)
    assert any(p.startswith("/wheels/symparam-") for p in served)
    assert any(p.startswith("/pyodide/pyodide.asm.wasm") for p in served)


def test_convention_switch(page):
    page.page.fill("#source", SEED000)
    page.page.select_option("#convention", "torch")
    assert page.settled() == "ok"
    # BatchNorm1d(512) has weight and bias (1,024 parameters); its running statistics
    # are buffers: 2,097,664 + 1,024 + 41,040.
    assert "Total params: 2,139,728" in page.text("#summary")
    assert "convention torch" in page.text("#summary")
    assert "c=torch" in page.page.evaluate("location.hash")
    page.page.select_option("#convention", "keras")
    assert page.settled() == "ok"
    assert "Total params: 2,140,752" in page.text("#summary")


def test_a_bad_model_shows_the_one_line_error(page):
    page.page.fill("#source", SEED000.replace("dense k,", "dense q,"))
    assert page.settled() == "error"
    shown = page.text("#error")
    first, source_line, caret = shown.splitlines()
    assert first.startswith("line 9, column ") and "undefined symbol 'q'" in first
    assert source_line.strip() == "dense q, activation = sigmoid"
    assert caret.strip() == "^" and source_line[caret.index("^")] == "q"
    assert "Traceback" not in shown
    # The last good result stays, dimmed.
    assert "2,140,752" in page.text("#summary")
    assert "stale" in page.page.get_attribute("#results", "class")


def test_a_shared_link_opens_its_model(browser, server):
    base, _ = server
    model = ("# a séquence model, “quoted” — UTF-8 in the link\n"
             "model seq(T = 50, d = 32, u = 64):\n"
             "    input [T, d]\n"
             "    lstm u\n"
             "    dense 10\n")
    opened = Playground(browser, base, link(model, "torch"))
    try:
        assert opened.settled() == "ok"
        assert opened.page.input_value("#source") == model
        assert opened.page.input_value("#convention") == "torch"
        # torch.nn.LSTM(32, 64): 4 gates x (64 x 32 + 64 x 64 + two biases of 64)
        # = 25,088; nn.Linear(64, 10) = 650.
        assert "Total params: 25,738" in opened.text("#summary")
        # A new link in the same page: a file of three models, the second chosen by the
        # link. Seed 004's `wide`: 514 x 514 + 514 = 264,710 and 514 x 257 + 257 = 132,355.
        seed004 = (ROOT / "docs" / "examples" / "seed004.symp").read_text(encoding="utf-8")
        opened.page.evaluate("h => { location.hash = h; }", link(seed004) + "&model=wide")
        opened.page.wait_for_function(
            "() => document.getElementById('summary').textContent.includes('397,065')",
            timeout=ANSWER_MS)
        assert opened.settled() == "ok"
        assert 'Model: "wide"' in opened.text("#summary")
        assert opened.page.is_visible("#model")
        assert opened.page.eval_on_selector_all("#model option", "os => os.map(o => o.value)") \
            == ["mnist", "wide", "convs"]
        assert opened.page.input_value("#model") == "wide"
        # A link whose model is not base64url of UTF-8: said so, the text stays.
        opened.page.evaluate("() => { location.hash = '#m=%E2%9C%93'; }")
        opened.page.wait_for_selector("#notice", state="visible", timeout=ANSWER_MS)
        assert "could not be read" in opened.text("#notice")
        assert opened.page.input_value("#source") == seed004
        assert opened.outside == [] and opened.errors == []
    finally:
        opened.close()


def test_markdown_js_finds_every_math_fragment():
    """playground/src/markdown.js hands KaTeX exactly the fragments a Markdown renderer
    finds in every shipped derivation (no math lost, none invented), escaping the rest."""
    _require(shutil.which("node") is not None, "node is needed (apt-get install nodejs)")
    docs = _documents("markdown", flavor="plain")
    script = """
const { markdownToHtml } = require(process.argv[1]);
const docs = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const [name, md] of Object.entries(docs)) {
  const found = [];
  const html = markdownToHtml(md, (tex, display) => { found.push([tex, display]); return "<m/>"; });
  out[name] = { found, html };
}
console.log(JSON.stringify(out));
"""
    done = subprocess.run(["node", "-e", script, str(ROOT / "playground" / "src" / "markdown.js")],
                          input=json.dumps(docs), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert len(result) == len(docs) > 10
    for name, md in docs.items():
        want = sorted(map(list, math_fragments(md, "plain")))
        assert sorted(result[name]["found"]) == want, name
        html = result[name]["html"]
        assert "<table>" in html and "<h2>" in html and "<script" not in html, name


BLOCKED_RUN = """
import glob, json, sys
class Block:  # the page ships none of these
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numpy", "click", "pygments"):
            raise ImportError("not in the playground: " + name)
sys.meta_path.insert(0, Block())
namespace = {}
exec(open(sys.argv[1], encoding="utf-8").read(), namespace)
from symparam.parser import parse
out = []
for path in sorted(glob.glob("zoo/*.symp")) + sorted(glob.glob("docs/examples/*.symp")):
    text = open(path, encoding="utf-8").read()
    for model in parse(text).models:
        for convention in ("keras", "torch"):
            reply = namespace["run"](text, convention, model)
            out.append([path, model, convention, reply["ok"], reply.get("error", ""),
                        reply.get("model"), "\\n## " in reply.get("markdown", "")])
print(json.dumps(out))
"""


def test_the_page_needs_no_numpy_click_or_pygments():
    """bridge.run, what the page calls, answers for every shipped model with numpy, click
    and Pygments unimportable, as in the page, which ships none of them."""
    done = subprocess.run([sys.executable, "-c", BLOCKED_RUN,
                           str(ROOT / "playground" / "src" / "bridge.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    replies = json.loads(done.stdout)
    assert len(replies) > 30
    for path, model, convention, ok, error, shown, has_layers in replies:
        where = f"{path} {model} ({convention})"
        assert "internal error" not in error and "not in the playground" not in error, where
        if ok:
            assert shown == model and has_layers, where
        else:  # a Keras-only option under torch, say: symparam's own message
            assert error.startswith("line "), where
    assert sum(r[3] for r in replies) > 30
