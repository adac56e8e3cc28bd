"""Raw kernel interface (see ``hotpath.contract.RawKernels``) on a wasm32 module.

``_kernels.wasm`` is ``cffi_ext/src/hotpath_kernels.c`` compiled by clang for
wasm32-wasi (see ``wasm/CMakeLists.txt``). It imports nothing and exports the
``hp_*`` kernels, its linear memory, and wasi-libc's ``malloc``/``free``, which
Python uses to place inputs in that memory.

One kernel call is three steps, and :func:`stage` exposes them separately so
the benchmark can time the Wasm call on its own:

1. **stage**: allocate one block in linear memory and copy every input into it
   (the copy-in: Wasm cannot see host memory, so this is part of its real cost);
2. **run**: call the ``hp_*`` export once for the whole batch;
3. **read**: copy the outputs back into NumPy arrays (the copy-out).

The raw kernels below do all three under one lock (a wasmtime store must not
be entered by two threads at once, and ctypes releases the GIL during the
call). They reuse one staging block across calls, growing it when a call needs
more, so repeated calls neither allocate nor touch fresh pages. Each export is
called through wasmtime's C API with its type read once (:func:`_caller`):
wasmtime-py's own call path costs ~70 us a call.

Never trapping: hotpath.contract has validated the input before it gets here,
and these functions check again what the module relies on -- dtypes, equal
lengths (hotpath.rawchecks, the rule every backend's raw kernels follow), and
that everything fits in the 4 GiB wasm32 address space -- so the
module is only ever called with in-bounds pointers and lengths. A bad device
id is reported by ``hp_aggregate`` as a row index, an allocation failure inside
the module as a return code; both become Python exceptions here. Should the
module trap regardless, the trap becomes a RuntimeError and the instance is
replaced before the next call, so one failure cannot poison the next.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import threading
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

try:
    import wasmtime
    from wasmtime import _ffi as ffi  # the C API's ctypes bindings, for _caller's fast path
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "wasm_ext needs the wasmtime package: pip install wasmtime "
        "(it is a dependency of hotpath: pip install -e .)"
    ) from error

from hotpath import rawchecks
from hotpath.contract import Aggregates, Factorized

__all__ = [
    "BUILD_INFO",
    "WASM_PATH",
    "Staged",
    "aggregate_into",
    "duplicates_into",
    "factorize_into",
    "hash_rows_into",
    "keyed_hash",
    "stage",
    "xxh64",
]

WASM_NAME = "_kernels.wasm"
ADDRESS_SPACE = 1 << 32  # wasm32: pointers and size_t are 32 bits
ALIGN = 64  # each array in a staging block starts on a cache line
# Wasm memory never shrinks: after a call that left more than this in use, the instance is
# dropped (a new one costs well under a millisecond) so one huge batch does not pin its memory.
RELEASE_ABOVE = 1 << 30
U64_MASK = (1 << 64) - 1
U8, U32, I64, U64, F64 = (np.dtype(t) for t in ("uint8", "uint32", "int64", "uint64", "float64"))


def _find_module() -> Path:
    # In a wheel the .wasm lies next to this file; in an editable install the
    # package's __path__ also holds the install tree, where CMake put it.
    from . import __path__ as package_path

    for folder in package_path:
        candidate = Path(folder) / WASM_NAME
        if candidate.is_file():
            return candidate
    raise ImportError(
        f"wasm_ext/{WASM_NAME} was not built: the wasm32 toolchain (clang with the wasm32 "
        "target, wasm-ld, wasi-libc) was not found when hotpath was installed. On Debian/"
        "Ubuntu run wasm/setup-debian.sh (clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32), "
        "then pip install -e . again"
    )


WASM_PATH = _find_module()


def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    try:
        config.cache = True  # wasmtime's on-disk compilation cache (~/.cache/wasmtime)
    except wasmtime.WasmtimeError:  # pragma: no cover - e.g. no writable home
        pass
    return wasmtime.Engine(config)


_ENGINE = _engine()
_MODULE = wasmtime.Module.from_file(_ENGINE, str(WASM_PATH))


def _caller(store: wasmtime.Store, function: wasmtime.Func) -> Callable[..., Any]:
    """``function(store, *args)``, without what wasmtime-py's Func.__call__ does on every call:
    it reads the function's type back from the engine, builds a type object per parameter and
    converts each argument through it (about 70 us of a 10-row aggregate's ~110 us).

    Here the type is read once, and the call goes through the C API's
    ``wasmtime_func_call_unchecked`` on one reused array of raw values. Unchecked means the
    argument types are the caller's word: they are the ones just read, and every export takes
    and returns only i32 and i64 (anything else, or a wasmtime-py without these internals,
    takes the public path)."""
    public = functools.partial(function, store)
    try:
        signature = function.type(store)
        params = [str(t) for t in signature.params]
        results = [str(t) for t in signature.results]
        call, trap_type = ffi.wasmtime_func_call_unchecked, ffi.wasm_trap_t
        values = (ffi.wasmtime_val_raw_t * max(len(params), len(results), 1))()
        context, reference = store._context, ctypes.byref(function._func)
    except (AttributeError, ImportError, TypeError):  # pragma: no cover - other wasmtime-py
        return public
    if not set(params + results) <= {"i32", "i64"} or len(results) > 1:
        return public
    setters = [(values[i], kind) for i, kind in enumerate(params)]  # slot views, made once
    result = (values[0], results[0]) if results else None
    busy = [False]

    def fast(*args: int) -> Any:
        if len(args) != len(setters):
            raise TypeError(f"expected {len(setters)} arguments, got {len(args)}")
        if busy[0]:  # re-entered (_LOCK is reentrant, e.g. a Staged freed by the GC mid-call)
            return public(*args)
        busy[0] = True
        try:
            for (slot, kind), value in zip(setters, args):
                setattr(slot, kind, value)  # c_int32/c_int64 fields wrap as Wasm's i32/i64 do
            trap = ctypes.POINTER(trap_type)()
            # The context is asked for on every call: it raises once the store is gone (a
            # Staged freed at interpreter exit), where a saved pointer would dangle.
            error = call(context(), reference, values, len(values), ctypes.byref(trap))
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
            if trap:
                raise wasmtime.Trap._from_ptr(trap)
            return getattr(*result) if result else None
        finally:
            busy[0] = False

    fast.__wrapped__ = function  # type: ignore[attr-defined]  # the public Func, for tests
    return fast


class _Instance:
    """One instantiation of the module: its store, exports and memory."""

    def __init__(self) -> None:
        self.store = wasmtime.Store(_ENGINE)
        instance = wasmtime.Instance(self.store, _MODULE, [])
        exports = instance.exports(self.store)
        self.memory: wasmtime.Memory = exports["memory"]
        self.functions: dict[str, Callable[..., Any]] = {
            name: _caller(self.store, exports[name])
            for name in (
                "malloc",
                "free",
                "hp_aggregate",
                "hp_duplicates",
                "hp_factorize",
                "hp_keyed_hash",
                "hp_xxh64",
                "hp_hash_rows",
                "hp_build_info",
            )
        }
        self.broken = False
        self.block, self.block_size = 0, 0  # the reusable staging block
        self.staged = 0  # blocks owned by live Staged calls
        self._view: np.ndarray = np.empty(0, np.uint8)
        self._view_key = (0, 0)
        if "_initialize" in exports:  # WASI reactor: run the C constructors once
            exports["_initialize"](self.store)

    def view(self) -> np.ndarray:
        """Linear memory as a uint8 array. Growth (malloc, or a kernel's own
        allocation) changes the length and may move the base, so callers ask
        again after every call into the module."""
        key = (self._base(), self.memory.data_len(self.store))
        if key != self._view_key:
            address, length = key
            self._view = np.frombuffer((ctypes.c_ubyte * length).from_address(address), np.uint8)
            self._view_key = key
        return self._view

    def _base(self) -> int:
        pointer = self.memory.data_ptr(self.store)
        return ctypes.cast(pointer, ctypes.c_void_p).value or 0

    def call(self, name: str, *args: int) -> Any:
        try:
            return self.functions[name](*args)
        except wasmtime.Trap as trap:
            self.broken = True
            raise RuntimeError(f"wasm_ext: {name} trapped (instance replaced): {trap}") from None

    def malloc(self, nbytes: int) -> int:
        if nbytes >= ADDRESS_SPACE:
            raise MemoryError(f"wasm_ext: {nbytes} bytes do not fit in wasm32's 4 GiB memory")
        address = self.call("malloc", nbytes) & 0xFFFFFFFF
        if address == 0:
            raise MemoryError(f"wasm_ext: cannot allocate {nbytes} bytes in wasm32 linear memory")
        return address

    def free(self, address: int) -> None:
        if address and not self.broken:
            self.call("free", address)

    def reusable_block(self, nbytes: int) -> int:
        """The staging block shared by the raw kernels, at least nbytes long."""
        if nbytes > self.block_size:
            # free first: the allocator can then hand back the same space, grown
            self.free(self.block)
            self.block, self.block_size = 0, 0
            size = -(-nbytes // 65536) * 65536  # whole 64 KiB pages: fewer regrowths
            size = size if size < ADDRESS_SPACE else nbytes
            self.block = self.malloc(size)
            self.block_size = size
        return self.block

    def string(self, address: int) -> str:
        memory = self.view()
        end = address
        while memory[end]:
            end += 1
        return bytes(memory[address:end]).decode("ascii")


_LOCK = threading.RLock()
_current: _Instance | None = None


def _instance() -> _Instance:
    global _current
    if _current is None or _current.broken:
        _current = _Instance()
    return _current


# -- staging -------------------------------------------------------------------------------------


class _Plan(NamedTuple):
    """One raw call: its inputs, its outputs' (dtype, length), and the export's arguments
    given the addresses of the inputs and then the outputs in linear memory."""

    inputs: list[np.ndarray]
    outputs: list[tuple[np.dtype, int]]
    arguments: Callable[[list[int]], tuple[int, ...]]


def _array(values: Any, dtype: str, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype != np.dtype(dtype) or array.ndim != 1 or not array.flags.c_contiguous:
        raise TypeError(
            f"{name} must be a 1-D C-contiguous {dtype} array, got {array.dtype} "
            f"with shape {array.shape}"
        )
    return array


def _length(**arrays: np.ndarray) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"lengths differ: {lengths}")
    return next(iter(lengths.values()))


def _i64(value: Any) -> int:
    """A seed in [0, 2**64) as the signed i64 that Wasm passes."""
    value = int(value)
    if not 0 <= value <= U64_MASK:
        raise ValueError(f"seed {value} outside [0, 2**64)")
    return value - (1 << 64) if value >= 1 << 63 else value


def _key(kernel: str, key: Any) -> tuple[int, int]:
    """The hash key's words (hotpath.rawchecks' rule) as the signed i64s Wasm passes."""
    k0, k1 = rawchecks.hash_key(kernel, key)
    return _i64(k0), _i64(k1)


# Each kernel's arguments after its input arrays.
_REST = {
    "aggregate": ("n_devices",),
    "duplicates": ("key",),
    "factorize": ("key",),
    "xxh64": ("seed",),
    "hash_rows": ("seed",),
}
# Each kernel's input arrays, in the order stage() takes them (then its other arguments).
_INPUTS = {
    "aggregate": (("device_id", "uint32"), ("kwh", "float64")),
    "duplicates": (("device_id", "uint32"), ("timestamp", "int64")),
    "factorize": (("device_id", "uint32"),),
    "xxh64": (("data", "uint8"),),
    "hash_rows": (("device_id", "uint32"), ("timestamp", "int64"), ("kwh", "float64")),
}


def _plan(kernel: str, args: tuple[Any, ...], checked: bool = False) -> _Plan:
    """The plan of one raw call (``args`` as for :func:`stage`), its inputs checked here
    unless the caller has ``checked`` them (the raw kernels do, with hotpath.rawchecks)."""
    if kernel not in _INPUTS:
        raise KeyError(f"no kernel named {kernel!r}")
    spec = _INPUTS[kernel]
    inputs, rest = list(args[: len(spec)]), args[len(spec) :]
    if checked:
        n = len(inputs[0])
    else:
        inputs = [_array(value, dtype, name) for value, (name, dtype) in zip(inputs, spec)]
        n = _length(**{name: array for (name, _), array in zip(spec, inputs)})
    if len(rest) != len(_REST[kernel]):
        names = [name for name, _ in spec] + list(_REST[kernel])
        raise TypeError(f"{kernel} takes ({', '.join(names)}): {len(args)} arguments given")
    if kernel == "aggregate":
        nd = int(rest[0])
        if nd < 1:
            raise ValueError(f"n_devices must be >= 1, got {nd}")
        outputs = [(I64, nd), (F64, nd), (F64, nd), (F64, nd)]
        # hp_aggregate(ids, kwh, n, n_devices, count, total, minimum, maximum)
        return _Plan(inputs, outputs, lambda a: (a[0], a[1], n, nd, *a[2:]))
    if kernel == "duplicates":
        k0, k1 = _key("duplicates", rest[0])
        # hp_duplicates(ids, timestamp, n, k0, k1, out, stats)
        return _Plan(inputs, [(U8, n), (U64, 2)], lambda a: (a[0], a[1], n, k0, k1, a[2], a[3]))
    if kernel == "factorize":
        k0, k1 = _key("factorize", rest[0])
        # hp_factorize(ids, n, k0, k1, codes, uniques, stats)
        outputs = [(U32, n), (U32, n), (U64, 2)]
        return _Plan(inputs, outputs, lambda a: (a[0], n, k0, k1, a[1], a[2], a[3]))
    signed_seed = _i64(rest[0])
    if kernel == "xxh64":
        # hp_xxh64(data, len, seed)
        return _Plan(inputs, [], lambda a: (a[0], n, signed_seed))
    # hp_hash_rows(ids, timestamp, kwh, n, seed, out)
    return _Plan(inputs, [(U64, n)], lambda a: (a[0], a[1], a[2], n, signed_seed, a[3]))


class Staged:
    """One kernel call whose inputs are already in linear memory.

    :meth:`run` makes the Wasm call, and only that (the benchmark times it
    alone); :meth:`result` copies the outputs out in the public functions'
    shape, :meth:`read_into` into given arrays. A call staged by :func:`stage`
    owns its block and frees it on :meth:`close` or when garbage collected.
    """

    def __init__(
        self,
        instance: _Instance,
        kernel: str,
        arguments: tuple[int, ...],
        outputs: list[tuple[int, np.dtype, int]],
        owned_block: int,
    ) -> None:
        self._instance = instance
        self.kernel = kernel
        self._arguments = arguments
        self._outputs = outputs  # (address, dtype, length) of each output
        self._block = owned_block
        self.returned: Any = None

    def run(self) -> Staged:
        """Call the export once on the staged inputs; returns self."""
        with _LOCK:
            if self._instance is not _current:
                raise RuntimeError("wasm_ext: the instance this call was staged in was replaced")
            self.returned = self._instance.call(f"hp_{self.kernel}", *self._arguments)
        if (self.kernel, self.returned != 0) == ("duplicates", True) or (
            self.kernel == "factorize" and self.returned < 0
        ):
            raise MemoryError(
                f"wasm_ext: {self.kernel} cannot allocate its scratch memory in wasm32 memory"
            )
        return self

    def read_into(self, *arrays: np.ndarray) -> None:
        """Copy the last run's outputs into ``arrays`` (the copy-out)."""
        with _LOCK:
            memory = self._instance.view()  # after the call: the kernel may have grown memory
            for (address, dtype, length), array in zip(self._outputs, arrays):
                array.view(np.uint8)[:] = memory[address : address + length * dtype.itemsize]

    def result(self) -> Any:
        """The last run's result as the public function returns it."""
        if self.kernel == "xxh64":
            return self.returned & U64_MASK
        out = [np.empty(length, dtype) for _, dtype, length in self._outputs]
        self.read_into(*out)
        if self.kernel == "aggregate":
            return Aggregates(*out)
        if self.kernel == "factorize":  # without the table statistics
            return Factorized(out[0], out[1][: self.returned].copy())
        return out[0].view(np.bool_) if self.kernel == "duplicates" else out[0]

    def close(self) -> None:
        with _LOCK:
            if self._block:
                self._instance.staged -= 1
                if self._instance is _current:
                    self._instance.free(self._block)
            self._block = 0

    def __del__(self) -> None:
        if self._block:
            try:
                self.close()
            except Exception:  # at interpreter exit the module may already be gone
                pass

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _stage(kernel: str, plan: _Plan, own_block: bool) -> Staged:
    """Copy the plan's inputs into one block of linear memory, its outputs' room after them.
    Called under _LOCK."""
    sizes = [a.nbytes for a in plan.inputs] + [n * dtype.itemsize for dtype, n in plan.outputs]
    offsets, end = [], 0
    for size in sizes:  # each array on a cache line of its own
        offsets.append(end)
        end += -(-size // ALIGN) * ALIGN
    instance = _instance()
    if own_block:
        block = instance.malloc(max(end, ALIGN))
        instance.staged += 1
    else:
        block = instance.reusable_block(end)
    addresses = [block + offset for offset in offsets]
    memory = instance.view()  # after malloc: it may have grown memory
    for address, array in zip(addresses, plan.inputs):
        memory[address : address + array.nbytes] = array.view(np.uint8)  # the copy-in
    outputs = [
        (address, dtype, n)
        for address, (dtype, n) in zip(addresses[len(plan.inputs) :], plan.outputs)
    ]
    return Staged(instance, kernel, plan.arguments(addresses), outputs, block if own_block else 0)


def stage(kernel: str, *args: Any) -> Staged:
    """Stage one call, in a block of linear memory of its own, without running it.

    ``args`` are the raw kernel's inputs as canonical arrays (the checks of
    hotpath.contract are not repeated): ``aggregate(device_id, kwh, n_devices)``,
    ``duplicates(device_id, timestamp, key)``, ``factorize(device_id, key)``,
    ``xxh64(data, seed)``, ``hash_rows(device_id, timestamp, kwh, seed)``; ``key`` is a
    hotpath.hashkey.HashKey (hotpath.hashkey.KEY for the public functions' answers).
    ``stage(...).run().result()`` equals the public function's result; timing ``run``
    alone times the Wasm call without the copies.
    """
    plan = _plan(kernel, args)
    with _LOCK:
        return _stage(kernel, plan, own_block=True)


# -- the raw kernels -----------------------------------------------------------------------------


def _run_into(kernel: str, args: tuple[Any, ...], outs: tuple[np.ndarray, ...] = ()) -> Any:
    """Stage in the shared block, run, copy the outputs into ``outs``; the export's return.
    The caller has checked every argument (hotpath.rawchecks), outputs included."""
    plan = _plan(kernel, args, checked=True)
    global _current
    with _LOCK:
        staged = _stage(kernel, plan, own_block=False).run()
        staged.read_into(*outs)
        instance = staged._instance
        if instance.memory.data_len(instance.store) > RELEASE_ABOVE and not instance.staged:
            _current = None
    return staged.returned


def aggregate_into(
    device_id: np.ndarray,
    kwh: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    minimum: np.ndarray,
    maximum: np.ndarray,
) -> int:
    """Fill the n_devices = len(count) outputs; -1 on success, else the index
    of the first row whose device id is >= n_devices."""
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    outs = (count, total, minimum, maximum)
    return int(_run_into("aggregate", (device_id, kwh, len(count)), outs))


def duplicates_into(
    device_id: np.ndarray, timestamp: np.ndarray, key: Any, out: np.ndarray
) -> tuple[int, int]:
    """out[i] = True iff an earlier row has the same (device_id, timestamp); returns the hash
    tables' (probes, fallbacks)."""
    rawchecks.duplicates_into(device_id, timestamp, key, out)
    stats = np.empty(2, U64)
    _run_into("duplicates", (device_id, timestamp, key), (out, stats))
    return int(stats[0]), int(stats[1])


def factorize_into(
    device_id: np.ndarray, key: Any, codes: np.ndarray, uniques: np.ndarray
) -> tuple[int, int, int]:
    """codes and the first k uniques of device_id; returns (k, probes, fallbacks)."""
    rawchecks.factorize_into(device_id, key, codes, uniques)
    stats = np.empty(2, U64)
    found = _run_into("factorize", (device_id, key), (codes, uniques, stats))
    if found < 0:
        raise MemoryError("wasm_ext: factorize cannot allocate its scratch memory")
    return int(found), int(stats[0]), int(stats[1])


def keyed_hash(device_id: int, timestamp: int, key: Any) -> int:
    """The 64-bit hash the module's tables use (hotpath.hashkey.keyed_hash mirrors it)."""
    k0, k1 = _key("keyed_hash", key)
    if not (0 <= device_id < 1 << 32 and -(1 << 63) <= timestamp < 1 << 63):
        raise ValueError("keyed_hash: device_id or timestamp out of range")
    with _LOCK:
        h = _instance().call("hp_keyed_hash", device_id, timestamp, k0, k1)
    return int(h) & U64_MASK


def xxh64(data: np.ndarray, seed: int) -> int:
    """XXH64 of a uint8 array; seed in [0, 2**64)."""
    rawchecks.xxh64(data, seed)
    return int(_run_into("xxh64", (data, seed))) & U64_MASK


def hash_rows_into(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, seed: int, out: np.ndarray
) -> None:
    """out[i] = XXH64(struct.pack("<Iqd", device_id[i], timestamp[i], kwh[i]), seed)."""
    rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    _run_into("hash_rows", (device_id, timestamp, kwh, seed), (out,))


def _build_info() -> str:
    with _LOCK:
        instance = _instance()
        compiler = instance.string(instance.call("hp_build_info") & 0xFFFFFFFF)
    wasmtime_version = importlib.metadata.version("wasmtime")
    return f"{compiler} (wasm32-wasi), wasmtime {wasmtime_version}"


BUILD_INFO = _build_info()
