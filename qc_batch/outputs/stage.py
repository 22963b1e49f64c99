"""The stage a batch is at and the bureau's local time, in the words every output shows.

A batch is at the ``document`` stage (资料评审: the submitted workbooks) until the on-site
review is applied (``final``). Times are shown in Asia/Shanghai: China Standard Time,
UTC+8 all year (no daylight saving since 1991), so no time-zone database is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

DOCUMENT, FINAL = "document", "final"
STAGE_LABELS = {DOCUMENT: "资料评审", FINAL: "资料评审＋现场评审"}
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def stage_of(b: Any) -> str:
    """The batch's stage (``document`` for a batch result that has none)."""
    return getattr(b, "stage", DOCUMENT)


def stage_label(b: Any) -> str:
    stage = stage_of(b)
    return STAGE_LABELS.get(stage, str(stage))


def in_china(generated_at: str) -> dt.datetime:
    """An ISO time (UTC when it has no offset) in China's time; ValueError when it is not one."""
    t = dt.datetime.fromisoformat(generated_at)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(CHINA)


def local_time(generated_at: str) -> str:
    """An ISO time as ``2026-01-01 08:00`` in China; other text unchanged."""
    try:
        return in_china(generated_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return generated_at


def local_date(generated_at: str) -> str:
    """``2026年1月1日``: the day of ``generated_at`` (ISO time) in China."""
    t = in_china(generated_at)
    return f"{t.year}年{t.month}月{t.day}日"
