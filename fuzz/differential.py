"""Differential fuzzer: every available backend against python_ref, on inputs decoded from bytes.

Each input is a byte string; :class:`Reader` decodes it into one call of one of the five
kernels: the columns' lengths (equal or not), dtypes (right, wrong, floats as ids, strings,
complex, datetimes), values (raw bit patterns -- NaN payloads, infinities, -0.0, huge and
negative ids -- or a few values repeated, or rows crafted to collide in the hash tables under
the process's key, enough of them to pass the probe bound so the sort fallback answers), the
container (array, list, tuple, memoryview, bytes, array.array, masked array, 2-D, scalar, str)
and the layout (strided, reversed, byte-swapped, misaligned, read-only), ``n_devices`` and the
seed, valid or not. The hash key is the process's or one decoded from the input.

python_ref's answer is the truth. Every backend must return the same result, compared by bits
(:func:`hotpath.parity.mismatch`), or raise the same exception type with python_ref's message
(MemoryError: any message), and must leave its inputs as they were. Anything else -- a
mismatch, another exception, a crash of the interpreter -- is a finding.

An input whose first byte is RAW_MODE or more calls a raw kernel instead (every backend's raw
module, hotpath.contract.RawKernels) with at most one bad argument: each must raise what
hotpath.rawchecks raises (the type; the messages are each technology's), or, on a valid call,
write what numpy_impl's raw kernel writes.

    python fuzz/differential.py fuzz/corpus/differential      # atheris (libFuzzer) run
    python fuzz/differential.py --replay fuzz/corpus/differential   # no atheris needed

Any libFuzzer flag passes through (``-max_total_time=60``, ``-jobs=2``, ``-runs=N``); see
README, "Fuzzing". tests/core/test_fuzz_corpus.py replays the committed corpus in the suite.
"""

from __future__ import annotations

import array as pyarray
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hotpath import parity

HERE = Path(__file__).resolve().parent
INSTRUMENTED = (
    "hotpath.contract",
    "hotpath.rawchecks",
    "python_ref",
    "python_ref._checks",
    "numpy_impl._kernels",
)
# A first byte from here on: a call of a raw kernel (hotpath.contract.RawKernels) instead.
RAW_MODE = 250
KERNELS = ("aggregate", "duplicates", "xxh64", "hash_rows", "factorize")

# The dtypes a column may come as: the right ones, ones that hold the values with a conversion,
# and wrong ones (floats as ids, complex, strings, datetimes, bytes).
DTYPES = (
    "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "?",
    "f2", "f4", "f8", "f8", "f8", "u4", "u4", "i8", "i8",
    "c16", "M8[s]", "m8[s]", "U3", "S2", "O",
)  # fmt: skip
# n_devices and seeds that are not plain valid ints; 2**62 and up cannot be allocated.
N_DEVICES_ODD: tuple[Any, ...] = (
    0, -1, sys.maxsize, sys.maxsize + 1, 1 << 62, True, 3.0, "3", None, np.int64(5),
    np.uint8(7), np.float64(2.0), 2**64,
)  # fmt: skip
SEEDS_ODD: tuple[Any, ...] = (
    0, 1, -1, 2**64, 2**64 - 1, 2**63, 1.5, None, "1", np.uint64(2**64 - 1), np.int8(-1), True,
    np.float32(1.0), 10**30,
)  # fmt: skip


class Reader:
    """Reads the fuzzer's bytes front to back; past the end every read gives zeros."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk + bytes(n - len(chunk))

    def byte(self) -> int:
        return self.take(1)[0]

    def below(self, n: int) -> int:
        return self.byte() % n

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")


class Case:
    """One decoded call: the kernel, its arguments, and the key the tables get."""

    def __init__(self, kernel: str, args: tuple[Any, ...], key: Any) -> None:
        self.kernel, self.args, self.key = kernel, args, key

    def __repr__(self) -> str:
        return f"{self.kernel}{self.args!r} key={self.key!r}"


# -- decoding ------------------------------------------------------------------------------


class Decoder:
    def __init__(self, crafted: Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]):
        # crafted(n, first) -> (ids, timestamps, factorize ids) colliding under hashkey.KEY
        self.crafted = crafted

    def length(self, r: Reader) -> int:
        b = r.byte()
        if b < 150:
            return b % 24
        if b < 230:
            return 24 + r.byte()  # up to 279: past the probe run limit (128) with crafted rows
        return 280 + 4 * r.byte()

    def values(self, r: Reader, dtype: np.dtype, n: int, crafted: np.ndarray | None) -> np.ndarray:
        mode = r.below(4)
        if dtype.kind in "OUSMm" or mode == 0:
            if dtype.kind == "O":  # Python ints of any size, some beyond 64 bits
                shift = r.below(80)
                return np.array(
                    [int.from_bytes(r.take(2), "little", signed=True) << shift for _ in range(n)],
                    dtype=object,
                )
            if dtype.kind == "U":
                return np.array([chr(32 + b % 95) * (b % 3) for b in r.take(n)], dtype)
            return np.frombuffer(r.take(n * dtype.itemsize), dtype)
        if mode == 1 or n == 0:  # a few distinct values, repeated: duplicates and equal keys
            k = 1 + r.below(4)
            palette = np.frombuffer(r.take(k * dtype.itemsize), dtype)
            return palette[np.frombuffer(r.take(n), np.uint8) % k]
        if mode == 2 and crafted is not None and dtype.kind in "iu" and dtype.itemsize >= 4:
            # Colliding rows, with some of them repeated (the duplicates inside the fallback).
            picks = np.frombuffer(r.take(n), np.uint8) % 4 == 0
            values = np.resize(crafted, n)  # a column of another length may be longer
            values[picks] = values[0]
            return values.astype(dtype)
        # Special values: the edges of the dtype, zeros of both signs, NaN, infinities.
        if dtype.kind == "f":
            edges = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1.0, -1.0, 5e-324,
                              np.finfo(dtype).max, np.finfo(dtype).tiny], dtype=dtype)  # fmt: skip
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            edges = np.array([0, 1, info.max, info.min, info.max - 1, 2, 3], dtype=dtype)
        else:
            edges = np.array([False, True], dtype=dtype)
        return edges[np.frombuffer(r.take(n), np.uint8) % len(edges)]

    def column(self, r: Reader, n: int, usual: str, crafted: np.ndarray | None = None) -> Any:
        """A column of ``n`` values (or another length, now and then) in some container."""
        if r.byte() < 12:
            n = self.length(r)  # a column of another length: ValueError
        dtype = np.dtype(usual if r.byte() < 128 else DTYPES[r.below(len(DTYPES))])
        values = self.values(r, dtype, n, crafted)
        return self.container(r, values)

    def container(self, r: Reader, values: np.ndarray) -> Any:
        layout = r.byte()
        array = values
        if array.dtype.kind != "O":
            if layout & 1:
                array = array.astype(array.dtype.newbyteorder())
            if layout & 2:  # every other element of a twice-as-long array
                array = np.repeat(array, 2)[::2]
            if layout & 4:  # reversed: a negative stride
                array = np.ascontiguousarray(array[::-1])[::-1]
            if layout & 8 and array.dtype.itemsize > 1:  # misaligned: one byte into a buffer
                buffer = bytearray(1 + array.nbytes)
                buffer[1:] = np.ascontiguousarray(array).tobytes()
                array = np.frombuffer(buffer, array.dtype, offset=1)
            if layout & 16:
                array = np.array(array)
                array.flags.writeable = False
        form = r.below(16)
        if form <= 5:
            return array
        if form == 6:
            return array.tolist()
        if form == 7:
            return tuple(array.tolist())
        if form == 8 and array.dtype.kind != "O":
            try:
                return memoryview(array)
            except (ValueError, TypeError, BufferError):  # datetimes: no buffer format
                return array
        if form == 9:  # a bytes object: a buffer of small integers
            if values.dtype.kind in "biuf":
                with np.errstate(invalid="ignore"):
                    return bytes(values.astype("u1", casting="unsafe"))
            return r.take(len(values))
        if form == 10 and array.dtype.char in "bBhHiIlLqQfd":
            return pyarray.array(array.dtype.char, array.tolist())
        if form == 11:  # a masked array, masking nothing or some rows
            mask = np.frombuffer(r.take(len(array)), np.uint8) % 3 == 0 if r.byte() & 1 else False
            return np.ma.array(array, mask=mask)
        if form == 12:
            return array.reshape(-1, 1) if r.byte() & 1 else array[None, :]
        if form == 13:  # not a column at all
            return [None, "1", 1.5, 3, np.ma.masked, [1], np.int64(1), "abc", b"x"][r.below(9)]
        if form == 14 and len(array):  # one of its elements as an object among ints
            items = array.tolist()
            items[r.below(len(items))] = [1.5, "7", None, 2**70, -1, complex(1, 0), (1,)][
                r.below(7)
            ]
            return items
        return array

    def n_devices(self, r: Reader) -> Any:
        b = r.byte()
        if b < 230:
            return 1 + r.byte()
        return N_DEVICES_ODD[b % len(N_DEVICES_ODD)]

    def seed(self, r: Reader) -> Any:
        b = r.byte()
        if b < 200:
            return r.u64()
        return SEEDS_ODD[b % len(SEEDS_ODD)]

    def data(self, r: Reader) -> Any:
        """xxh64's input: any buffer, in any layout, or something that is not one."""
        n = self.length(r)
        raw = r.take(n)
        form = r.below(12)
        if form <= 2:
            return raw
        if form == 3:
            return bytearray(raw)
        if form == 4:
            return memoryview(raw)[:: 1 + r.below(3)]  # strided
        if form in (5, 6):
            dtype = np.dtype(["u1", "u2", "f4", "i8", "c16"][r.below(5)])
            usable = n - n % dtype.itemsize
            array = np.frombuffer(raw[:usable], dtype)
            return self.container(r, array) if form == 5 else memoryview(array)
        if form == 7:  # 2-D, C or Fortran order, maybe transposed: hashed in C order
            array = np.frombuffer(raw[: n - n % 2], np.uint8).reshape(-1, 2)
            return [array, array.T, np.asfortranarray(array)][r.below(3)]
        if form == 8:
            return pyarray.array("h", np.frombuffer(raw[: n - n % 2], np.int16).tolist())
        if form == 9:
            return np.ma.array(np.frombuffer(raw, np.uint8))
        if form == 10:
            return [raw.decode("latin-1"), list(raw), None, 3][r.below(4)]
        return memoryview(np.frombuffer(raw, np.uint8)).cast("c")

    def case(self, data: bytes, process_key: Any) -> Case:
        from hotpath.hashkey import HashKey

        r = Reader(data)
        kernel = KERNELS[r.below(len(KERNELS))]
        key = process_key if r.byte() < 192 else HashKey(r.u64(), r.u64())
        n = self.length(r)
        crafted_ids = crafted_stamps = crafted_codes = None
        if key is process_key and r.byte() < 96:
            crafted_ids, crafted_stamps, crafted_codes = self.crafted(max(n, 600), r.below(64))
        if kernel == "aggregate":
            args: tuple[Any, ...] = (
                self.column(r, n, "u4"),
                self.column(r, n, "f8"),
                self.n_devices(r),
            )
        elif kernel == "duplicates":
            args = (self.column(r, n, "u4", crafted_ids), self.column(r, n, "i8", crafted_stamps))
        elif kernel == "factorize":
            args = (self.column(r, n, "u4", crafted_codes),)
        elif kernel == "hash_rows":
            args = (
                self.column(r, n, "u4"),
                self.column(r, n, "i8"),
                self.column(r, n, "f8"),
                self.seed(r),
            )
        else:
            args = (self.data(r),) if r.byte() < 64 else (self.data(r), self.seed(r))
        return Case(kernel, args, key)


# -- the raw kernels' boundary --------------------------------------------------------------

# Each raw kernel's arguments (hotpath.contract.RawKernels): (name, dtype, is_output, length
# group) for arrays, or "key" / "seed".
RAW: dict[str, tuple[Any, ...]] = {
    "aggregate_into": (
        ("device_id", "u4", False, 0),
        ("kwh", "f8", False, 0),
        ("count", "i8", True, 1),
        ("total", "f8", True, 1),
        ("minimum", "f8", True, 1),
        ("maximum", "f8", True, 1),
    ),
    "duplicates_into": (
        ("device_id", "u4", False, 0),
        ("timestamp", "i8", False, 0),
        "key",
        ("out", "?", True, 0),
    ),
    "factorize_into": (
        ("device_id", "u4", False, 0),
        "key",
        ("codes", "u4", True, 0),
        ("uniques", "u4", True, 0),
    ),
    "xxh64": (("data", "u1", False, 0), "seed"),
    "hash_rows_into": (
        ("device_id", "u4", False, 0),
        ("timestamp", "i8", False, 0),
        ("kwh", "f8", False, 0),
        "seed",
        ("out", "u8", True, 0),
    ),
}
# At most one fault per call: with two, backends may rightly check them in another order.
FAULTS = (
    "dtype", "length", "strided", "misaligned", "read-only", "2-D", "list", "overlap", "key",
    "seed",
)  # fmt: skip


class RawCase(NamedTuple):
    kernel: str
    args: tuple[Any, ...]
    fault: str


def raw_case(r: Reader, key: Any) -> RawCase:
    """A raw kernel's call: valid arrays of the right dtypes and lengths, or one fault."""
    from hotpath.hashkey import HashKey

    kernel = tuple(RAW)[r.below(len(RAW))]
    spec = RAW[kernel]
    sizes = [r.below(40), 1 + r.below(8)]  # rows; aggregate's devices
    fault = FAULTS[r.byte() % len(FAULTS)] if r.byte() < 128 else ""
    arrays = [i for i, a in enumerate(spec) if isinstance(a, tuple)]
    target = arrays[r.below(len(arrays))]
    args: list[Any] = []
    for i, item in enumerate(spec):
        if item == "key":
            bad = [(key.k0, key.k1), HashKey(-1, 0), HashKey(1.0, 2), HashKey(2**64, 0), None]
            args.append(bad[r.below(len(bad))] if fault == "key" else key)
            continue
        if item == "seed":
            bad = [-1, 2**64, 1.5, None, "1"]
            args.append(bad[r.below(len(bad))] if fault == "seed" else r.u64())
            continue
        name, dtype, output, group = item
        dtype = np.dtype(dtype)
        n = sizes[group]
        if fault == "length" and i == target:
            n += 1 + r.below(3)
        if fault == "dtype" and i == target:
            dtype = np.dtype(["u1", "i4", "u4", "i8", "u8", "f4", "f8", "?"][r.below(8)])
        if output:
            array = np.zeros(n, dtype)
        elif name == "device_id":  # few ids, some beyond aggregate's devices
            array = (np.frombuffer(r.take(n), np.uint8) % (sizes[1] + 1)).astype(dtype)
        elif name == "timestamp":
            array = (np.frombuffer(r.take(n), np.uint8) % 3).astype(dtype)
        else:
            array = np.frombuffer(r.take(n * dtype.itemsize), dtype).copy()
        if i == target:
            if fault == "strided" and n:
                array = np.repeat(array, 2)[::2]
            elif fault == "misaligned" and n and dtype.itemsize > 1:
                buffer = np.zeros(array.nbytes + 1, np.uint8)
                array = buffer[1:].view(dtype)
            elif fault == "read-only" and output:
                array.flags.writeable = False
            elif fault == "2-D":
                array = array.reshape(1, -1)
            elif fault == "list":
                array = array.tolist()
        args.append(array)
    if fault == "overlap":  # an output over the bytes of another argument with bytes
        outputs = [i for i in arrays if spec[i][2] and args[i].nbytes]
        others = [i for i in arrays if i not in outputs[:1] and args[i].nbytes]
        if outputs and others:
            out, other = outputs[r.below(len(outputs))], others[r.below(len(others))]
            if out != other:
                base = args[other]
                size = min(base.nbytes // args[out].itemsize, len(args[out]))
                if size == len(args[out]):
                    args[out] = base.view(np.uint8)[: size * args[out].itemsize].view(
                        args[out].dtype
                    )
    return RawCase(kernel, tuple(args), fault)


def _fresh(args: tuple[Any, ...], spec: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arguments with new, zeroed outputs: each backend writes its own."""
    return tuple(
        np.zeros_like(a) if isinstance(item, tuple) and item[2] else a
        for a, item in zip(args, spec)
    )


def _raw_results(kernel: str, args: tuple[Any, ...], returned: Any) -> list[Any]:
    """What to compare: the return value (less the tables' probe counts) and the outputs."""
    spec = RAW[kernel]
    outputs = [a for a, item in zip(args, spec) if isinstance(item, tuple) and item[2]]
    if kernel == "duplicates_into":
        return [o.tobytes() for o in outputs]
    if kernel == "factorize_into":
        k = returned[0]
        return [k, args[2].tobytes(), args[3][:k].tobytes()]
    if kernel == "aggregate_into":
        if returned >= 0:  # the outputs are unspecified after a bad row
            return [returned]
        return [returned, outputs[0].tobytes(), *(parity._bits(o).tobytes() for o in outputs[1:])]
    return [int(returned) if returned is not None else None, *(o.tobytes() for o in outputs)]


# -- checking ------------------------------------------------------------------------------


class Finding(AssertionError):
    """A backend disagreed with python_ref, or changed its input."""


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ma.MaskedArray):
        return (value.data.tobytes(), np.ma.getmaskarray(value).tobytes())
    if isinstance(value, np.ndarray):
        return value.tobytes() if value.dtype.kind != "O" else repr(value.tolist())
    if isinstance(value, (list, bytearray, memoryview, pyarray.array)):
        return repr(list(value)) if not isinstance(value, memoryview) else value.tobytes()
    return repr(value)


def _outcome(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, Exception | None]:
    try:
        return function(*args), None
    except Exception as error:  # every exception is an outcome to compare
        return None, error


def _same_error(got: Exception, want: Exception) -> bool:
    if type(got) is not type(want):
        return False
    return isinstance(want, MemoryError) or str(got) == str(want)


class Differential:
    """Runs a :class:`Case` on python_ref and every available backend and compares."""

    def __init__(self) -> None:
        from hotpath import backends, hashkey

        self.hashkey = hashkey
        self.process_key = hashkey.KEY
        self.reference = backends.load(backends.REFERENCE)
        self.backends = [
            (status.backend, status.module)
            for status in backends.statuses()
            if status.available and status.backend.name != backends.REFERENCE
        ]
        self.raw_modules = [
            (backend.name, importlib.import_module(backend.raw))
            for backend, _ in self.backends
            if backend.raw
        ]
        self.numpy_raw = importlib.import_module(backends.get("numpy_impl").raw)
        self._pools: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.decoder = Decoder(self._crafted)

    def _crafted(self, n: int, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows and ids that collide under the process key, computed once per start."""
        from hotpath import crafted

        if first not in self._pools or len(self._pools[first][0]) < n:
            if not self._pools:
                # 16 bits: every row of every table up to 65,536 slots in one probe chain.
                self._codes = crafted.ids_against_known_key(self.process_key, 300, 16)
            ids, stamps = crafted.against_known_key(self.process_key, n, first)
            self._pools[first] = (ids, stamps, np.resize(self._codes, n))
        return self._pools[first]

    def check(self, data: bytes) -> None:
        if data[:1] and data[0] >= RAW_MODE:
            self.check_raw(Reader(data[1:]))
            return
        case = self.decoder.case(data, self.process_key)
        function = getattr(self.reference, case.kernel)
        before = [_snapshot(arg) for arg in case.args]
        want, want_error = _outcome(function, case.args)
        self.hashkey.KEY = case.key  # the tables read it per call; results never depend on it
        try:
            for backend, module in self.backends:
                got, error = _outcome(getattr(module, case.kernel), case.args)
                where = f"{backend.name}.{case.kernel} on {case!r}"
                if want_error is not None:
                    if error is None or not _same_error(error, want_error):
                        raise Finding(
                            f"{where}: python_ref raised {want_error!r}, got "
                            f"{error!r}" + ("" if error else f" and result {got!r}")
                        ) from error
                elif error is not None:
                    raise Finding(f"{where}: python_ref returned, got {error!r}") from error
                else:
                    found = parity_mismatch(case.kernel, got, want, backend.exact)
                    if found:
                        raise Finding(f"{where}: {found}")
                after = [_snapshot(arg) for arg in case.args]
                if after != before:
                    raise Finding(f"{where}: changed its input")
        finally:
            self.hashkey.KEY = self.process_key

    def check_raw(self, r: Reader) -> None:
        """A raw kernel's call: every backend's raw module must raise what hotpath.rawchecks
        raises (the type: messages are each technology's), or return numpy_impl's answer."""
        from hotpath import rawchecks

        case = raw_case(r, self.process_key)
        spec = RAW[case.kernel]
        _, want_error = _outcome(getattr(rawchecks, case.kernel), case.args)
        want = None
        if want_error is None:
            args = _fresh(case.args, spec)
            want = _raw_results(case.kernel, args, getattr(self.numpy_raw, case.kernel)(*args))
        for name, raw in self.raw_modules:
            args = case.args if want_error is not None else _fresh(case.args, spec)
            returned, error = _outcome(getattr(raw, case.kernel), args)
            where = f"{name}.{case.kernel} ({case.fault or 'valid'}) on {case.args!r}"
            if want_error is not None:
                if error is None or type(error) is not type(want_error):
                    raise Finding(f"{where}: rawchecks raised {want_error!r}, got {error!r}")
            elif error is not None:
                raise Finding(f"{where}: a valid call raised {error!r}") from error
            elif _raw_results(case.kernel, args, returned) != want:
                raise Finding(f"{where}: differs from numpy_impl's raw kernel")


def parity_mismatch(kernel: str, got: Any, want: Any, exact: bool) -> str | None:
    return parity.mismatch(kernel, got, want, exact=exact)


# -- running -------------------------------------------------------------------------------


def replay(paths: list[str]) -> int:
    """Run every file (or every file in every folder) once; the number run."""
    differential = Differential()
    files = [
        file
        for path in map(Path, paths)
        for file in (sorted(path.iterdir()) if path.is_dir() else [path])
    ]
    for file in files:
        try:
            differential.check(file.read_bytes())
        except Finding as finding:
            raise Finding(f"{file}: {finding}") from finding
    return len(files)


def main(argv: list[str]) -> None:
    if "--replay" in argv:
        paths = [a for a in argv[1:] if a != "--replay"]
        print(f"replayed {replay(paths)} inputs: no finding")
        return
    if "--random" in argv:  # no atheris: random bytes, N of them
        count = int(argv[argv.index("--random") + 1])
        differential = Differential()
        for _ in range(count):
            data = os.urandom(int.from_bytes(os.urandom(2), "little") % 2048)
            try:
                differential.check(data)
            except Finding:
                Path("crash-random").write_bytes(data)
                raise
        print(f"{count} random inputs: no finding")
        return
    import atheris

    differential = Differential()  # imports every backend
    # Coverage feedback from the Python the inputs run through: the contract's checks and
    # conversions, python_ref, numpy_impl. The compiled backends report none (a crash or a
    # mismatch is found all the same). Function by function: instrument_imports() misses
    # what the editable install's loader imports, and instrument_all() would rewrite the
    # bytecode Numba compiles.
    for name in INSTRUMENTED:
        for value in vars(importlib.import_module(name)).values():
            if inspect.isfunction(value) and value.__module__ == name:
                atheris.instrument_func(value)
    atheris.Setup(argv, differential.check)
    atheris.Fuzz()


if __name__ == "__main__":
    # A fixed hash key unless one is given, as in the test suite (tests/conftest.py): the
    # crafted rows collide under it, and a finding replays the same way.
    os.environ.setdefault("HOTPATH_HASH_SEED", "20260101")
    sys.path.insert(0, str(HERE.parent))
    main(sys.argv)
