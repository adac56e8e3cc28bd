"""The job on distributed engines (Spark, Dask): same files, same report, exact by design."""
