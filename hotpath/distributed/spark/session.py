"""Starting Spark for hotpath: a session on any master, its Python workers on this venv."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
from typing import Any

DEFAULT_MASTER = "local[2]"
# Shuffle partitions of the default session: a few per core of local[2]; a cluster sets its own.
DEFAULT_PARTITIONS = 4


def unavailable() -> str:
    """ "" when Spark can run here, else why not (the extra, or a JDK, is missing)."""
    for module in ("pyspark", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed (pip install -e '.[spark]')"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "no Java runtime (Spark needs a JDK 17 or 21: set JAVA_HOME or put java on PATH)"
    return ""


def start(
    master: str = DEFAULT_MASTER,
    partitions: int = DEFAULT_PARTITIONS,
    ui: bool = False,
    conf: dict[str, str] | None = None,
    name: str = "hotpath",
) -> Any:
    """A SparkSession (an active one is stopped first, so that the
    settings given here hold). Python workers run this interpreter unless PYSPARK_PYTHON says
    otherwise: without it they would start the system python3, which lacks pyarrow and hotpath.
    On a cluster, PYSPARK_PYTHON names the interpreter of the environment shipped to the
    executors (README, "Beyond one machine: Spark")."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no public interface needed
    # PySpark 4.3 warns on every pandas 3 import; it works with it for what hotpath does
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    builder = (
        SparkSession.builder.master(master)
        .appName(name)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.ui.enabled", "true" if ui else "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Arrow batches to Python workers: big enough that per-batch costs vanish
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(1 << 18))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("HOTPATH_SPARK_DRIVER_MEMORY", "3g"))
    )
    if master.startswith("local"):  # the driver, its UI and its REST API on loopback only
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
