"""The evaluation report: metrics (``metrics``), figures (``plots``), Markdown/HTML (``render``)."""

from lance.eval.report.render import build_report

__all__ = ["build_report"]
