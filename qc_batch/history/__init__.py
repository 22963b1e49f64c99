"""Across the years: the history database (SQLite), cross-year checks, pre-filled sheets,
migration from older templates, and pandas frames for analysts (docs/history.md).

``qc_batch.history.frame(db, what="scores")`` returns a pandas DataFrame
(:func:`qc_batch.history.frames.frame`).
"""

from __future__ import annotations

from qc_batch.history.frames import frame

__all__ = ["frame"]
