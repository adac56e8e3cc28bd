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
more, so repeated calls neither allocate nor touch fresh pages.

Never trapping: hotpath.contract has validated the input before it gets here,
and these functions check again what the module relies on -- dtypes, equal
lengths, and that everything fits in the 4 GiB wasm32 address space -- so the
module is only ever called with in-bounds pointers and lengths. A bad device
id is reported by ``hp_aggregate`` as a row index, an allocation failure inside
the module as a return code; both become Python exceptions here. Should the
module trap regardless, the trap becomes a RuntimeError and the instance is
replaced before the next call, so one failure cannot poison the next.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import threading
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

try:
    import wasmtime
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "wasm_ext needs the wasmtime package: pip install wasmtime "
        "(it is a dependency of hotpath: pip install -e .)"
    ) from error

from hotpath import rawchecks
from hotpath.contract import Aggregates

__all__ = [
    "BUILD_INFO",
    "WASM_PATH",
    "Staged",
    "aggregate_into",
    "duplicates_into",
    "hash_rows_into",
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
U8, I64, U64, F64 = (np.dtype(t) for t in ("uint8", "int64", "uint64", "float64"))


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


class _Instance:
    """One instantiation of the module: its store, exports and memory."""

    def __init__(self) -> None:
        self.store = wasmtime.Store(_ENGINE)
        instance = wasmtime.Instance(self.store, _MODULE, [])
        exports = instance.exports(self.store)
        self.memory: wasmtime.Memory = exports["memory"]
        self.functions: dict[str, wasmtime.Func] = {
            name: exports[name]
            for name in (
                "malloc",
                "free",
                "hp_aggregate",
                "hp_duplicates",
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
            return self.functions[name](self.store, *args)
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


def _plan(kernel: str, args: tuple[Any, ...]) -> _Plan:
    """The checked plan of one raw call (``args`` as for :func:`stage`)."""
    if kernel == "aggregate":
        device_id, kwh, n_devices = args
        ids, x = _array(device_id, "uint32", "device_id"), _array(kwh, "float64", "kwh")
        n, nd = _length(device_id=ids, kwh=x), int(n_devices)
        if nd < 1:
            raise ValueError(f"n_devices must be >= 1, got {nd}")
        outputs = [(I64, nd), (F64, nd), (F64, nd), (F64, nd)]
        # hp_aggregate(ids, kwh, n, n_devices, count, total, minimum, maximum)
        return _Plan([ids, x], outputs, lambda a: (a[0], a[1], n, nd, *a[2:]))
    if kernel == "duplicates":
        device_id, timestamp = args
        ids, ts = _array(device_id, "uint32", "device_id"), _array(timestamp, "int64", "timestamp")
        n = _length(device_id=ids, timestamp=ts)
        # hp_duplicates(ids, timestamp, n, out)
        return _Plan([ids, ts], [(U8, n)], lambda a: (a[0], a[1], n, a[2]))
    if kernel == "xxh64":
        data, seed = args
        buffer, signed_seed = _array(data, "uint8", "data"), _i64(seed)
        # hp_xxh64(data, len, seed)
        return _Plan([buffer], [], lambda a: (a[0], buffer.nbytes, signed_seed))
    if kernel == "hash_rows":
        device_id, timestamp, kwh, seed = args
        ids, ts = _array(device_id, "uint32", "device_id"), _array(timestamp, "int64", "timestamp")
        x, signed_seed = _array(kwh, "float64", "kwh"), _i64(seed)
        n = _length(device_id=ids, timestamp=ts, kwh=x)
        # hp_hash_rows(ids, timestamp, kwh, n, seed, out)
        return _Plan([ids, ts, x], [(U64, n)], lambda a: (a[0], a[1], a[2], n, signed_seed, a[3]))
    raise KeyError(f"no kernel named {kernel!r}")


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
        if self.kernel == "duplicates" and self.returned != 0:
            raise MemoryError(
                "wasm_ext: duplicates cannot allocate its hash table in wasm32 memory"
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
    ``duplicates(device_id, timestamp)``, ``xxh64(data, seed)``,
    ``hash_rows(device_id, timestamp, kwh, seed)``. ``stage(...).run().result()``
    equals the public function's result; timing ``run`` alone times the Wasm
    call without the copies.
    """
    plan = _plan(kernel, args)
    with _LOCK:
        return _stage(kernel, plan, own_block=True)


# -- the raw kernels -----------------------------------------------------------------------------


def _run_into(kernel: str, args: tuple[Any, ...], outs: tuple[np.ndarray, ...] = ()) -> Any:
    """Stage in the shared block, run, copy the outputs into ``outs``; the export's return."""
    plan = _plan(kernel, args)
    for array, (dtype, n) in zip(outs, plan.outputs):
        if array.dtype.itemsize != dtype.itemsize or len(array) != n:
            raise ValueError(
                f"{kernel}: an output is {array.dtype} x {len(array)}, not {dtype} x {n}"
            )
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"{kernel}: outputs must be writable and C-contiguous")
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


def duplicates_into(device_id: np.ndarray, timestamp: np.ndarray, out: np.ndarray) -> None:
    """out[i] = True iff an earlier row has the same (device_id, timestamp)."""
    rawchecks.duplicates_into(device_id, timestamp, out)
    _run_into("duplicates", (device_id, timestamp), (out,))


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
