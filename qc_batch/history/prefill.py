"""``qc-batch prefill``: next year's score sheets, pre-filled from the history.

One sheet per unit known to the history database or listed in the year's expected-unit
register: the header (unit, level, 所属市州, year, contact) and the earlier years of every
3-year series, each with a comment naming where it comes from (来自2026年度报送 /
来自2026年度专家核定值). Units then type only the new year. The values are written so that
the batch reads back exactly the value on record.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from qc_batch.batch.run import safe_file_stem
from qc_batch.engine.scoring import Policy
from qc_batch.history.audit import reported, year_series
from qc_batch.history.db import HistoryError, connect
from qc_batch.history.store import Record, best_records, current_records, unit_key
from qc_batch.read.sheet_data import cached_results, interpret
from qc_batch.rubric.model import Input, Rubric, load_rubric
from qc_batch.sheet.writer import Fill, write_score_sheet


@dataclass(frozen=True)
class Prefilled:
    path: Path
    unit: str
    level: str
    parent: str
    values: dict[str, Any]         # defined name -> value written (header and series)
    sources: dict[str, str]        # defined name -> comment


def cell_value(inp: Input, v: Fraction) -> float | int:
    """A recorded number as a cell value that reads back as ``v``: a percent of at most 1
    is written as a fraction (0.5% -> 0.005), since a cell number from 0 to 1 reads as one."""
    if inp.kind == "pct" and v <= 1:
        v = v / 100
    return v.numerator if v.denominator == 1 else float(v)


def unit_values(rubric: Rubric, year: int, key: str, best: dict[tuple[str, int], Record]
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """The series values of the earlier years on record for one unit, and their sources."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for series in year_series(rubric).values():
        for offset, inp in series.items():
            if offset >= 0:
                continue
            got = reported(best, key, year + offset, series, year)
            if got is None:
                continue
            v, rec = got
            values[inp.name] = cell_value(inp, v)
            sources[inp.name] = f"{rec.source}（{year + offset}年数值，文件“{rec.file}”）；如有更正请直接修改"
    return values, sources


def prefill(year: int, to: Path, *, history: Path | None, expected: tuple = (), policy: Policy | None = None,
            rubric: Rubric | None = None) -> list[Prefilled]:
    """Write one pre-filled sheet per unit into ``to``; return what was written.

    ``history``: the database (``None``: the register alone); ``expected``: the settings'
    expected-unit register (:class:`~qc_batch.settings.ExpectedUnit`).
    """
    rubric = rubric or load_rubric()
    policy = policy or Policy()
    records: list[Record] = []
    if history is not None and history.is_file():
        conn = connect(history)
        try:
            records = current_records(conn, before=year)
        except sqlite3.Error as exc:
            raise HistoryError(f"无法读取历年数据库 {history}：{exc}") from None
        finally:
            conn.close()
    best = best_records(records)
    latest: dict[str, Record] = {}
    for (k, _y), rec in sorted(best.items(), key=lambda kv: kv[0][1]):
        latest[k] = rec
    units: dict[str, tuple[str, str, str]] = {k: (r.unit, r.level, r.parent) for k, r in latest.items()}
    for e in expected:
        units.setdefault(unit_key(e.level, e.parent, e.unit), (e.unit, e.level, e.parent))
    if not units:
        raise HistoryError("没有可预填的单位：历年数据库中没有更早年度的记录，设置文件中也没有 expected_units 名单")
    names = Counter(u for u, _lvl, _p in units.values())
    to.mkdir(parents=True, exist_ok=True)
    out = []
    for key in sorted(units, key=lambda k: (rubric.levels.index(units[k][1]) if units[k][1] in rubric.levels else 9,
                                            units[k][2], units[k][0])):
        unit, level, parent = units[key]
        values, sources = unit_values(rubric, year, key, best)
        rec = latest.get(key)
        values.update({"QC_UNIT": unit, "QC_LEVEL": level, "QC_PARENT": parent or None, "QC_YEAR": year})
        if rec is not None:
            values.update({"QC_CONTACT": rec.contact or None, "QC_PHONE": rec.phone or None,
                           "QC_EMAIL": rec.email or None})
        stem = safe_file_stem(unit if names[unit] == 1 else f"{parent or level}_{unit}")
        path = to / f"{stem}_{year}_预填.xlsx"
        data = interpret(rubric, values)
        fill = Fill(values, cached_results(rubric, data, policy), sources=sources)
        write_score_sheet(path, rubric, policy=policy, fill=fill)
        out.append(Prefilled(path, unit, level, parent, values, sources))
    return out
