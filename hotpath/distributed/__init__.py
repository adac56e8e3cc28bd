"""The pipeline's job inside distributed engines (Spark, Dask): same files, same report,
exact by design."""
