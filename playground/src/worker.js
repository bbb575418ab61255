// The playground's Python, off the page's main thread (a module worker: Pyodide has no
// classic-worker build): loads Pyodide and the wheels listed in wheels.json (all from
// this site, never a CDN), then answers {id, text, convention, model} with bridge.py's
// run() result and the milliseconds it took.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const here = new URL(".", self.location.href).href;

const born = performance.now();
const phases = {};  // milliseconds of each start-up step, shown in the status tooltip
let lapStart = born;
function lap(name) {
  const now = performance.now();
  phases[name] = Math.round(now - lapStart);
  lapStart = now;
}

async function start() {
  const pyodide = await loadPyodide({ indexURL: here + "pyodide/" });
  lap("runtime");
  const wheels = await (await fetch(here + "wheels.json")).json();
  for (const name of wheels) {
    const reply = await fetch(here + "wheels/" + name);
    if (!reply.ok) throw new Error("cannot load " + name + " (" + reply.status + ")");
    pyodide.unpackArchive(await reply.arrayBuffer(), "wheel");
  }
  lap("wheels");
  const bridge = await (await fetch(here + "bridge.py")).text();
  pyodide.runPython(bridge);  // imports symparam, sympy, lark, jinja2
  lap("imports");
  return pyodide.globals.get("run");
}

const ready = start();

self.onmessage = async (event) => {
  const { id, text, convention, model } = event.data;
  let run;
  try {
    run = await ready;
  } catch (err) {
    self.postMessage({ id, ok: false, fatal: true, error: "the playground could not start: " + err });
    return;
  }
  const began = performance.now();
  const result = run(text, convention, model || "");
  const reply = result.toJs({ dict_converter: Object.fromEntries });
  result.destroy();
  self.postMessage({ id, ms: Math.round(performance.now() - began), ...reply });
};
ready.then(() => self.postMessage({ ready: true, ms: Math.round(performance.now() - born), phases }),
           () => {});
