"""Data quality: suites in ``expectations/`` validated with Great Expectations.

Entry point: :func:`run_checks` (stage 'raw' after load, 'marts' after dbt); results go
to ``quality.check_results``; ``CheckOutcome.blocking_failures`` stops the publish.
"""

from nengtan.quality.runner import CheckOutcome, run_checks

__all__ = ["CheckOutcome", "run_checks"]
