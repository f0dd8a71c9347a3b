"""Calibration reports and the result objects notebooks display.

* :func:`build_report` writes one self-contained HTML file (``forecasts report``).
* :class:`ScoreTable`, :class:`CalibrationResult` and :class:`QuestionTimeline` are the pieces
  of that report as objects: they show themselves in Jupyter (``_repr_html_``) and keep their
  numbers as DataFrames and dicts.

Figures come from :mod:`forecasts.plots`; numbers from :mod:`forecasts.scoring`.
"""

from forecasts.report.build import build_report, default_out
from forecasts.report.results import CalibrationResult, LedgerReader, QuestionTimeline, ScoreTable, scoped_frames

__all__ = ["CalibrationResult", "LedgerReader", "QuestionTimeline", "ScoreTable", "build_report", "default_out",
           "scoped_frames"]
