"""The Airflow glue, in one place: what the DAG files call (``tasks``), what they share
(``dag_support``: assets, defaults, callbacks), how the CLI runs the real DAGs
(``dag_runner``), and the distributed executor (``distributed``, ``celery_support``).
Nothing here holds an accounting rule; the pipeline's work lives in ingest, transform,
quality, publish and ledger."""
