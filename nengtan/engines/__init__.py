"""The second engine: the raw layer as partitioned Parquet (the lakehouse layout a distributed deployment
reads) and the runner that builds the same dbt project on Spark (NENGTAN_ENGINE=spark, docs/scale-out.md)."""
