"""Measurement and verification (M&V) of energy-saving projects.

``caltrack`` and ``run`` execute inside the M&V environment (``.venv-mv``: OpenDSM needs pandas < 3
and multimethod < 2, which the pipeline's environment cannot hold); ``load`` runs in the pipeline's
environment and takes their results into the warehouse. Nothing here is imported at package import,
so either environment can import the part it runs.
"""
