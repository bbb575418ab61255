"""Take the screenshot docs/notebooks.md shows (docs/images/notebook.png): execute
docs/notebooks/symparam.ipynb with nbconvert, render it to HTML with the math drawn by
the KaTeX the tests install (tests/katex: no CDN), and photograph it in Debian's
Chromium via Playwright.

    pip install nbconvert && (cd tests/katex && npm install) && python3 docs/notebooks/screenshot.py
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOK = ROOT / "docs" / "notebooks" / "symparam.ipynb"
KATEX = ROOT / "tests" / "katex" / "node_modules" / "katex" / "dist"
OUT = ROOT / "docs" / "images" / "notebook.png"

KATEX_HEAD = f"""
<link rel="stylesheet" href="{(KATEX / 'katex.min.css').as_uri()}">
<script src="{(KATEX / 'katex.min.js').as_uri()}"></script>
<script src="{(KATEX / 'contrib' / 'auto-render.min.js').as_uri()}"></script>
<script>
document.addEventListener("DOMContentLoaded", () => renderMathInElement(document.body, {{
  delimiters: [{{left: "$$", right: "$$", display: true}},
               {{left: "$", right: "$", display: false}},
               {{left: "\\\\[", right: "\\\\]", display: true}},
               {{left: "\\\\(", right: "\\\\)", display: false}}],
  throwOnError: false}}));
</script>
"""


def main() -> None:
    if not KATEX.exists():
        sys.exit("install KaTeX first: (cd tests/katex && npm install)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                        "--execute", str(NOTEBOOK), "--output-dir", tmp], check=True)
        page = Path(tmp) / "symparam.html"
        html = page.read_text(encoding="utf-8")
        # No network: drop the CDN's MathJax and draw the math with the local KaTeX.
        html = re.sub(r'<script[^>]*mathjax[^>]*>\s*</script>', "", html, flags=re.I)
        page.write_text(html.replace("</head>", KATEX_HEAD + "</head>", 1), encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            view = browser.new_page(viewport={"width": 1000, "height": 1400})
            view.goto(page.as_uri())
            view.wait_for_timeout(1500)
            view.screenshot(path=str(OUT), full_page=False)
            browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
