// The playground page: sends the textarea's model to the Python worker (worker.js) a
// moment after each edit, shows the summary, the derivation (Markdown with KaTeX math)
// or symparam's one-line error, and keeps the model in the URL hash (#m=<base64url of
// UTF-8>&c=<convention>&model=<name>) so a link shares it.
"use strict";

const DEBOUNCE_MS = 300;
const $ = (id) => document.getElementById(id);
const source = $("source"), convention = $("convention"), modelSelect = $("model");
const statusLine = $("status"), errorBox = $("error"), results = $("results");

function toBase64Url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(code) {
  const b64 = code.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const notice = $("notice");
  notice.hidden = true;
  if (params.has("m")) {
    try {
      source.value = fromBase64Url(params.get("m"));
    } catch (err) {
      notice.textContent = "This link's model could not be read (it is not base64url of " +
                           "UTF-8 text): the editor keeps its text.";
      notice.hidden = false;
    }
  }
  if (["keras", "torch"].includes(params.get("c"))) convention.value = params.get("c");
  return params.get("model") || "";
}

function writeHash() {
  const params = new URLSearchParams();
  params.set("m", toBase64Url(source.value));
  params.set("c", convention.value);
  if (!modelSelect.parentElement.hidden && modelSelect.value) params.set("model", modelSelect.value);
  history.replaceState(null, "", "#" + params.toString());
}

// data-state on the status line: "busy" from an edit until its answer is shown, then
// "ok" or "error" (what tests wait for).
function setStatus(text, busy = false, state = null) {
  statusLine.textContent = text;
  statusLine.classList.toggle("busy", busy);
  if (busy) statusLine.dataset.state = "busy";
  else if (state) statusLine.dataset.state = state;
}

function renderMath(tex, display) {
  return katex.renderToString(tex, { displayMode: display, throwOnError: false, output: "html" });
}

function showModels(names, chosen) {
  const choice = $("model-choice");
  choice.hidden = names.length < 2;
  const same = names.length === modelSelect.options.length &&
               names.every((n, k) => modelSelect.options[k].value === n);
  if (!same) {
    modelSelect.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  if (chosen) modelSelect.value = chosen;
}

// One request at a time: while the worker is busy, only the newest text waits.
const worker = new Worker("worker.js", { type: "module" });
let nextId = 0, inFlight = null, pending = null, timer = null, wantedModel = readHash();

function request() {
  const job = { id: ++nextId, text: source.value, convention: convention.value,
                model: wantedModel || modelSelect.value };
  if (inFlight) { pending = job; return; }
  inFlight = job;
  statusLine.dataset.state = "busy";
  results.classList.add("stale");
  worker.postMessage(job);
}

worker.onmessage = (event) => {
  const reply = event.data;
  if (reply.ready) {
    statusLine.title = `Python started in ${reply.ms} ms (` +
      Object.entries(reply.phases).map(([k, v]) => `${k} ${v} ms`).join(", ") + ")";
    setStatus("Analyzing\u2026", true);
    return;
  }
  inFlight = null;
  if (pending) { const job = pending; pending = null; inFlight = job; worker.postMessage(job); }
  else results.classList.remove("stale");
  showModels(reply.models || [], reply.model || modelSelect.value);
  wantedModel = "";
  if (reply.ok) {
    errorBox.hidden = true;
    errorBox.textContent = "";
    $("summary").textContent = reply.summary;
    $("derivation").innerHTML = markdownToHtml(reply.markdown, renderMath);
    setStatus(inFlight ? "Analyzing\u2026" : `Up to date (${reply.ms} ms)`, !!inFlight || !!timer, "ok");
  } else {
    errorBox.textContent = reply.error;
    errorBox.hidden = false;
    setStatus(reply.fatal ? "Failed to start" : (inFlight ? "Analyzing\u2026" : "Error (last result dimmed)"),
              !reply.fatal && (!!inFlight || !!timer), "error");
    if (!inFlight) results.classList.add("stale");
  }
};
worker.onerror = (event) => {
  errorBox.textContent = "the playground's Python failed to start: " + (event.message || "worker error");
  errorBox.hidden = false;
  setStatus("Failed to start", false, "error");
};

function edited() {
  clearTimeout(timer);
  $("notice").hidden = true;
  statusLine.dataset.state = "busy";
  timer = setTimeout(() => { timer = null; writeHash(); request(); }, DEBOUNCE_MS);
}
source.addEventListener("input", edited);
convention.addEventListener("change", () => { writeHash(); request(); });
modelSelect.addEventListener("change", () => { writeHash(); request(); });
window.addEventListener("hashchange", () => {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("m") && params.get("m") !== toBase64Url(source.value)) { wantedModel = readHash(); request(); }
});
$("share").addEventListener("click", async () => {
  writeHash();
  try {
    await navigator.clipboard.writeText(location.href);
    setStatus("Link copied");
  } catch (err) {
    setStatus("Copy this page's address to share the model");
  }
});
source.addEventListener("keydown", (event) => {  // Tab indents instead of leaving the box
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  source.setRangeText("    ", source.selectionStart, source.selectionEnd, "end");
  edited();
});

request();
