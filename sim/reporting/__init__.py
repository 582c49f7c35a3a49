"""Figures and reports drawn from what the methods found.

- plots/: the figures, one module per kind (runs, comparisons, sweeps, sensitivity,
  validation, calibration; style: palette, labels, shared helpers); `plots` itself is
  their public face.
- document.py: a report as a document (Markdown, self-contained HTML) and saving its
  figures.
- report_figures.py: which figures an experiment's report draws.
- report.py: an experiment's report, its sections (build_report).
- calibration.py: a calibration's report.
"""
