"""A content-addressed cache of parsed files (``--cache DIR``).

A file's key is the XXH64 of its bytes, with the grammar's version: an unchanged file --
renamed or moved, even -- is never parsed twice, a changed one is parsed again alone, and a
new version of the rules retires every entry. An entry holds the file's three columns as
``.npy`` arrays and what was rejected, as JSON; it is written to a temporary name and renamed
into place, so concurrent runs never see half an entry. Any entry that cannot be read is
treated as absent (and overwritten).

Hashing costs far less than parsing: XXH64 runs at memory speed in the compiled backends
(the report shows both times).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hotpath import backends
from hotpath.pipeline.analytics import best_backend
from hotpath.pipeline.errors import Reject
from hotpath.pipeline.readers.base import Parsed

# Bump when the grammar or a reader's output changes: every old entry becomes a miss.
PARSER_VERSION = 1
COLUMNS = (("device_id", np.uint32), ("timestamp", np.int64), ("kwh", np.float64))


def default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hotpath")) / "pipeline"


class Cache:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._xxh64 = backends.load(best_backend()).xxh64
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> key
        self.hash_seconds = 0.0  # time spent hashing files, summed over threads

    # Worker processes get their own: a lock and a kernel do not pickle.
    def __getstate__(self) -> dict:
        return {"folder": self.folder}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["folder"])

    def key(self, path: Path) -> str:
        """The file's content key (hashed once per run, however often asked)."""
        stat = path.stat()
        known = (str(path), stat.st_size, stat.st_mtime_ns)
        if known not in self._keys:
            self._keys[known] = self._hash(path)
        return self._keys[known]

    def _hash(self, path: Path) -> str:
        started = time.perf_counter()
        # read, not mapped: a file cut short while mapped would end the process (SIGBUS)
        content = path.read_bytes()
        size = len(content)
        digest = self._xxh64(content)
        del content
        with self._lock:
            self.hash_seconds += time.perf_counter() - started
        return f"v{PARSER_VERSION}-{digest:016x}-{size:x}"

    def _entry(self, key: str) -> Path:
        return self.folder / key[-2:] / key

    def read(self, path: Path, parse: Callable[[], Parsed], arrays: bool) -> tuple[Parsed, bool]:
        """The file parsed: from the cache (True) or by ``parse`` and then stored (False);
        its columns as arrays, or as lists."""
        key = self.key(path)
        entry = self._entry(key)
        found = self._load(entry, path, arrays)
        if found is not None:
            return found, True
        parsed = parse()
        self._store(entry, parsed)
        return parsed, False

    def _load(self, entry: Path, path: Path, arrays: bool) -> Parsed | None:
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            columns = [np.load(entry / f"{name}.npy") for name, _ in COLUMNS]
        except (OSError, ValueError):
            return None
        if not arrays:
            columns = [column.tolist() for column in columns]
        where = str(path)

        def reject(item: dict) -> Reject:  # the same content may now have another name
            return Reject(where, item["line"], item["reason"], base64.b64decode(item["raw"]))

        file_error = meta["file_error"]
        return Parsed(
            where,
            *columns,
            rows_read=meta["rows_read"],
            rejects=[reject(item) for item in meta["rejects"]],
            file_error=reject(file_error) if file_error else None,
        )

    def _store(self, entry: Path, parsed: Parsed) -> None:
        def item(r: Reject) -> dict:
            return {"line": r.line, "reason": r.reason, "raw": base64.b64encode(r.raw).decode()}

        if entry.exists():  # unreadable (else it would have been a hit): replace it
            shutil.rmtree(entry, ignore_errors=True)
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=entry.parent))
        try:
            for name, dtype in COLUMNS:
                np.save(staging / f"{name}.npy", np.asarray(getattr(parsed, name), dtype))
            meta = {
                "rows_read": parsed.rows_read,
                "rejects": [item(r) for r in parsed.rejects],
                "file_error": item(parsed.file_error) if parsed.file_error else None,
            }
            (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            try:
                os.replace(staging, entry)  # atomic; fails if another run stored it first
            except OSError:
                pass
        finally:
            if staging.exists():
                for leftover in staging.iterdir():
                    leftover.unlink()
                staging.rmdir()

    # -- the whole result ------------------------------------------------------------------

    def results_key(self, files: list[Path], settings: str) -> str:
        """The key of a run's result: every file's content key, in order, with its name as
        given (the report names the files) and the settings that change the result."""
        text = "\n".join([settings, *(f"{path}\t{self.key(path)}" for path in files)])
        return f"v{PARSER_VERSION}-result-{hashlib.sha256(text.encode()).hexdigest()[:32]}"

    def load_results(self, key: str) -> dict | None:
        try:
            return json.loads((self._entry(key) / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store_results(self, key: str, result: dict) -> None:
        entry = self._entry(key)
        entry.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".staging-", dir=entry)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(result, file)
        os.replace(staging, entry / "result.json")
