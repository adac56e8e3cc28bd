//! Build script: platform link arguments for a Python extension module, and BUILD_INFO.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // On macOS an extension module must leave libpython's symbols to be resolved at load time
    // (`-undefined dynamic_lookup`). maturin adds this itself; a plain `cargo build` (the CMake
    // path) needs it from here. It is a no-op on other targets.
    pyo3_build_config::add_extension_module_link_args();

    // BUILD_INFO is derived from the toolchain and lock file actually used, so it cannot go stale.
    let rustc = rustc_version();
    let pyo3 = locked_version("pyo3").unwrap_or_else(|| {
        println!("cargo::warning=Cargo.lock not found or lacks pyo3; BUILD_INFO says 'unknown'");
        "unknown".to_owned()
    });
    println!("cargo::rustc-env=HOTPATH_BUILD_INFO={rustc}, pyo3 {pyo3}");
    let rayon = locked_version("rayon").unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=HOTPATH_RAYON_VERSION={rayon}");
    println!("cargo::rerun-if-changed=build.rs");
}

/// "rustc 1.95.0" from `$RUSTC --version` ("rustc 1.95.0 (59807616e 2026-04-14)").
fn rustc_version() -> String {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .arg("--version")
        .output()
        .expect("failed to run $RUSTC --version");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The version of `package` recorded in the nearest Cargo.lock above this crate (the workspace
/// lock file; a standalone checkout of the crate has its own).
fn locked_version(package: &str) -> Option<String> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    let lock = manifest_dir
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.is_file())?;
    println!("cargo::rerun-if-changed={}", lock.display());
    parse_lock(&lock, package)
}

/// Finds `name = "<package>"` followed by `version = "..."` inside one [[package]] entry.
fn parse_lock(lock: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock).ok()?;
    let wanted = format!("name = \"{package}\"");
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == wanted {
            let version = lines
                .next()?
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}
