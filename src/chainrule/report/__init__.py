"""cr.report: the self-contained HTML training report (figures embedded as base64 PNGs)."""

from chainrule.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
