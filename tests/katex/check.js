// Render every math fragment given on stdin with KaTeX; print the failures.
// Input: JSON [{"tex": "...", "display": true, "where": "seed000.md"}, ...].
// Output: JSON [{"where": ..., "tex": ..., "error": ...}] (empty when all render).
const katex = require("katex");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const failures = [];
  for (const item of JSON.parse(input)) {
    try {
      katex.renderToString(item.tex, { displayMode: item.display, throwOnError: true,
                                       strict: "error" });
    } catch (err) {
      failures.push({ where: item.where, tex: item.tex, error: String(err.message || err) });
    }
  }
  process.stdout.write(JSON.stringify(failures));
});
