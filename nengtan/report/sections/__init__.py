"""The sections of the monthly reports, each a :class:`~nengtan.report.figures.Table` built
from the snapshot's marts, one module per subject (``scope`` holds what they share;
``assemble`` puts them in order per report).

A scope is one enterprise, the enterprises of one park, or the whole city. Figures of a
scope are sums of its enterprise-months (for parks and the city equal to their own marts,
which are the same sums); period comparisons are this month against the previous month
(MoM) and the same month last year (YoY), and the year to date against the same months
of last year.
"""

from nengtan.report.sections.assemble import build_all, enterprise_report, summary_report
from nengtan.report.sections.scope import Scope

__all__ = ["Scope", "build_all", "enterprise_report", "summary_report"]
