"""What runs beside the pipeline, never inside a night: the synthetic city generator
(``generate``), the demo (``demo``) and the benchmarks (``bench``). The pipeline
imports nothing from here."""
