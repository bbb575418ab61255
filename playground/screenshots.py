"""Take the screenshots docs/playground.md shows (docs/images/playground*.png) from the
built playground (run playground/build.py first), in Debian's Chromium via Playwright.

    python3 playground/screenshots.py

Standard library and playwright only.
"""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "playground"
IMAGES = ROOT / "docs" / "images"
SETTLED = "() => ['ok', 'error'].includes(document.getElementById('status').dataset.state)"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    if not (SITE / "index.html").exists():
        raise SystemExit("build the playground first: python3 playground/build.py")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 820})
        page.goto(f"http://127.0.0.1:{httpd.server_port}/index.html")
        page.wait_for_function(SETTLED, timeout=300_000)
        print("started:", page.get_attribute("#status", "title"))
        page.screenshot(path=str(IMAGES / "playground.png"))
        page.locator("h2", has_text="dense_1").first.scroll_into_view_if_needed()
        page.screenshot(path=str(IMAGES / "playground-derivation.png"))
        page.evaluate("window.scrollTo(0, 0)")
        page.fill("#source", page.input_value("#source").replace("dense k,", "dense q,"))
        page.wait_for_function(SETTLED, timeout=60_000)
        page.screenshot(path=str(IMAGES / "playground-error.png"))
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
