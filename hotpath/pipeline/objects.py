"""The naive program with its algorithm fixed: duplicates found with a set of the keys seen
(O(n)), everything else unchanged -- still one object per reading, dicts, the csv module."""

from __future__ import annotations

from hotpath.pipeline.naive import Naive, Reading


def drop_duplicates(readings: list[Reading]) -> list[Reading]:
    seen: set[tuple[int, int]] = set()
    kept = []
    for reading in readings:
        key = (reading.device_id, reading.timestamp)
        if key not in seen:
            seen.add(key)
            kept.append(reading)
    return kept


class Objects(Naive):
    name = "objects"
    description = "the naive program with a hash-based duplicate scan (the algorithm fixed)"
    dedup = staticmethod(drop_duplicates)


ENGINE = Objects()
