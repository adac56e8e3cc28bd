// Run the py2wasm module with Wasmer's JavaScript SDK (@wasmer/sdk, npm) under Node:
//   node --no-warnings run_wasmer_sdk.mjs MODULE [GUEST=HOST ...] -- DRIVER-ARGS...
// The SDK's sandbox has an in-memory filesystem, not host preopens: the files directly in
// each HOST folder are copied to GUEST (timed as part of instantiate_seconds). The guest
// runs on Node's WebAssembly engine (V8). The guest's output goes to stdout, then one
// JSON line with this runner's one-off costs.
import { readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Wasmer } from "@wasmer/sdk/node";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const [modulePath, ...maps] = split < 0 ? argv : argv.slice(0, split);
const args = split < 0 ? [] : argv.slice(split + 1);
const version = JSON.parse(readFileSync(new URL("../node_modules/@wasmer/sdk/package.json", import.meta.url))).version;

let started = performance.now();
const wasmer = new Wasmer({ cache: false });
await wasmer.ready();
const sdkSeconds = (performance.now() - started) / 1000;

const bytes = readFileSync(modulePath);
started = performance.now();
const pkg = await wasmer.packages.load(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
const compileSeconds = (performance.now() - started) / 1000;

started = performance.now();
const files = {};
for (const map of maps) {
  const guest = map.slice(0, map.indexOf("="));
  const host = map.slice(map.indexOf("=") + 1);
  for (const name of readdirSync(host)) {
    const path = join(host, name);
    if (statSync(path).isFile()) files[`${guest}/${name}`] = new Uint8Array(readFileSync(path));
  }
}
const sandbox = await wasmer.sandboxes.create({ packages: [pkg], files });
const instantiateSeconds = (performance.now() - started) / 1000;

const enteredAt = Date.now() / 1000;
started = performance.now();
const output = await sandbox.command(pkg, args).run({ check: false });
const runSeconds = (performance.now() - started) / 1000;
await sandbox.close();
await wasmer.close();
process.stderr.write(output.stderr.text());
if (!output.ok) {
  process.stderr.write(`the module exited ${output.exitCode} (${output.reason})\n`);
  process.exit(output.exitCode || 1);
}
writeSync(1, output.stdout.text());
writeSync(1, "\n" + JSON.stringify({
  engine: `@wasmer/sdk ${version} on Node ${process.version} (V8 ${process.versions.v8})`,
  sdk_load_seconds: sdkSeconds,
  compile_seconds: compileSeconds,
  instantiate_seconds: instantiateSeconds,
  run_seconds: runSeconds,
  entered_at: enteredAt,
}) + "\n");
process.exit(0);
