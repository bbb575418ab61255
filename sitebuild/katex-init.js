// Render the math that pymdownx.arithmatex (generic: true) leaves in the page:
// inline as <span class="arithmatex">\(...\)</span>, display as <div class="arithmatex">\[...\]</div>.
// KaTeX and its auto-render extension are served from the site itself (no CDN).
function symparamRenderMath(root) {
  for (const element of root.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  }
}
if (typeof document$ !== "undefined") {
  // mkdocs-material's page observable: also fires after instant navigation.
  document$.subscribe(({ body }) => symparamRenderMath(body));
} else {
  document.addEventListener("DOMContentLoaded", () => symparamRenderMath(document.body));
}
