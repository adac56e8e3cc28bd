"""Spark's own metrics of a group of jobs, from its status REST API (the UI's
``/api/v1``, on loopback): stage time, tasks, shuffle bytes, spill, the slowest task."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Measured:
    """What Spark recorded for one job group: every stage that ran (skipped ones aside)."""

    jobs: int = 0
    stages: int = 0
    tasks: int = 0
    stage_seconds: float = 0.0  # sum of the stages' wall durations
    executor_seconds: float = 0.0  # tasks' run time, summed
    slowest_task_seconds: float = 0.0  # the longest task of any stage: skew shows here
    input_bytes: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    spill_bytes: int = 0  # memory and disk spill

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(url: str, attempts: int = 4) -> Any:
    """One REST answer; the UI's server can be slow to answer on a busy machine: retried."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=60) as answer:
                return json.load(answer)
        except TimeoutError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _when(text: str) -> float:
    """Seconds since the epoch of the REST API's "2026-12-02T00:45:18.123GMT"."""
    import datetime

    parsed = datetime.datetime.strptime(text.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return parsed.timestamp()


def api(spark: Any) -> str:
    url = spark.sparkContext.uiWebUrl
    if not url:
        raise RuntimeError("Spark's UI is off: start the session with ui=True")
    return f"{url.rstrip('/')}/api/v1/applications/{spark.sparkContext.applicationId}"


def of_group(spark: Any, group: str, wait: float = 30.0) -> Measured:
    """The metrics of every job run under ``setJobGroup(group, ...)``, once Spark's
    listener has recorded them all (it runs behind the jobs)."""
    base = api(spark)
    deadline = time.monotonic() + wait
    while True:
        jobs = [j for j in _get(f"{base}/jobs") if j.get("jobGroup") == group]
        if jobs and all(j["status"] != "RUNNING" for j in jobs):
            stages = [s for s in _get(f"{base}/stages") if s["stageId"] in
                      {i for j in jobs for i in j["stageIds"]}]  # fmt: skip
            if all(s["status"] in ("COMPLETE", "SKIPPED", "FAILED") for s in stages):
                break
        if time.monotonic() > deadline:
            raise RuntimeError(f"Spark did not record the jobs of {group!r} in {wait:.0f} s")
        time.sleep(0.2)
    found = Measured(jobs=len(jobs))
    for stage in stages:
        if stage["status"] != "COMPLETE":
            continue
        found.stages += 1
        found.tasks += stage["numTasks"]
        if stage.get("submissionTime") and stage.get("completionTime"):
            found.stage_seconds += _when(stage["completionTime"]) - _when(stage["submissionTime"])
        found.executor_seconds += stage["executorRunTime"] / 1000
        found.input_bytes += stage["inputBytes"]
        found.shuffle_read_bytes += stage["shuffleReadBytes"]
        found.shuffle_write_bytes += stage["shuffleWriteBytes"]
        found.spill_bytes += stage["memoryBytesSpilled"] + stage["diskBytesSpilled"]
        summary = _get(
            f"{base}/stages/{stage['stageId']}/{stage['attemptId']}/taskSummary?quantiles=1.0"
        )
        slowest = summary["executorRunTime"][0] / 1000
        found.slowest_task_seconds = max(found.slowest_task_seconds, slowest)
    return found
