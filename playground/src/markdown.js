// The Markdown that symparam's derivations use, to HTML: headings, paragraphs, pipe
// tables, "- " lists, $$ display math $$, and inline `code`, $math$ and backslash
// escapes. Math goes through renderMath(tex, display) (KaTeX in the page); all other
// text is HTML-escaped. Not a general Markdown renderer: only what the templates write.
"use strict";

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
             .replace(/"/g, "&quot;");
}

function inlineHtml(text, renderMath) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && /[\\`*_{}\[\]()#+\-.!|$<>]/.test(text[i + 1])) {
      out += escapeHtml(text[i + 1]);
      i += 2;
    } else if (c === "`") {
      const end = text.indexOf("`", i + 1);
      if (end < 0) { out += "`"; i += 1; continue; }
      out += "<code>" + escapeHtml(text.slice(i + 1, end)) + "</code>";
      i = end + 1;
    } else if (c === "$") {
      let end = i + 1;
      while (end < text.length && text[end] !== "$") end += text[end] === "\\" ? 2 : 1;
      if (end >= text.length) { out += "$"; i += 1; continue; }
      out += renderMath(text.slice(i + 1, end), false);
      i = end + 1;
    } else if (text.startsWith("**", i) && text.indexOf("**", i + 2) > i + 2) {
      const end = text.indexOf("**", i + 2);
      out += "<strong>" + inlineHtml(text.slice(i + 2, end), renderMath) + "</strong>";
      i = end + 2;
    } else {
      out += escapeHtml(c);
      i += 1;
    }
  }
  return out;
}

function tableCells(line) {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const cells = [];
  let cell = "";
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "\\" && inner[i + 1] === "|") { cell += "\\|"; i++; continue; }
    if (inner[i] === "|") { cells.push(cell.trim()); cell = ""; continue; }
    cell += inner[i];
  }
  cells.push(cell.trim());
  return cells;
}

function markdownToHtml(markdown, renderMath) {
  const lines = markdown.split("\n");
  const html = [];
  let i = 0;
  const isBlank = (line) => line.trim() === "";
  const startsBlock = (line) => /^(#{1,6} |\$\$|\| ?|- )/.test(line.trim());
  while (i < lines.length) {
    const line = lines[i];
    const trimmed = line.trim();
    if (isBlank(line)) { i++; continue; }
    let heading = /^(#{1,6}) (.*)$/.exec(trimmed);
    if (heading) {
      const level = heading[1].length;
      html.push(`<h${level}>` + inlineHtml(heading[2], renderMath) + `</h${level}>`);
      i++;
    } else if (trimmed.startsWith("$$")) {
      const body = [];
      let rest = trimmed.slice(2);
      if (rest.endsWith("$$") && rest.length >= 2) {  // $$ x $$ on one line
        body.push(rest.slice(0, -2));
        i++;
      } else {
        if (rest) body.push(rest);
        i++;
        while (i < lines.length && !lines[i].trim().endsWith("$$")) body.push(lines[i++]);
        if (i < lines.length) {
          const last = lines[i].trim().slice(0, -2);
          if (last) body.push(last);
          i++;
        }
      }
      html.push('<div class="math-display">' + renderMath(body.join("\n"), true) + "</div>");
    } else if (trimmed.startsWith("|")) {
      const rows = [];
      while (i < lines.length && lines[i].trim().startsWith("|")) rows.push(tableCells(lines[i++]));
      const hasHead = rows.length > 1 && rows[1].every((c) => /^:?-+:?$/.test(c));
      let table = "<table>";
      if (hasHead) {
        table += "<thead><tr>" + rows[0].map((c) => "<th>" + inlineHtml(c, renderMath) + "</th>").join("") +
                 "</tr></thead>";
      }
      table += "<tbody>" + rows.slice(hasHead ? 2 : 0).map((r) =>
        "<tr>" + r.map((c) => "<td>" + inlineHtml(c, renderMath) + "</td>").join("") + "</tr>").join("") +
        "</tbody></table>";
      html.push(table);
    } else if (trimmed.startsWith("- ")) {
      const items = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const t = lines[i].trim();
        if (t.startsWith("- ")) items.push(t.slice(2));
        else if (items.length && !startsBlock(lines[i])) items[items.length - 1] += " " + t;
        else break;
        i++;
      }
      html.push("<ul>" + items.map((it) => "<li>" + inlineHtml(it, renderMath) + "</li>").join("") + "</ul>");
    } else {
      const para = [];
      while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 || !startsBlock(lines[i]))) {
        para.push(lines[i++].trim());
      }
      html.push("<p>" + inlineHtml(para.join(" "), renderMath) + "</p>");
    }
  }
  return html.join("\n");
}

if (typeof module !== "undefined") module.exports = { markdownToHtml, escapeHtml };
