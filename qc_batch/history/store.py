"""Writing a run into the history database, and reading the current records back.

A run is recorded in one transaction: the run, every file of the input folder with its
SHA-256, and per accepted unit its header, facts, indicator scores, self-assessed scores,
total, status and rank. The latest run of a year and stage is that year's current record;
earlier runs stay for the audit trail.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from qc_batch import __version__
from qc_batch.history.db import STAGES, HistoryError, connect, history_path
from qc_batch.outputs.stage import DOCUMENT, FINAL

STAGE_LABELS = {DOCUMENT: "报送", FINAL: "专家核定值"}  # where an earlier year's value came from


def unit_key(level: str, parent: str, unit: str) -> str:
    """Who a unit is across the years: level, 所属市州 (county level only: ingest leaves it
    blank for the other level) and name."""
    return f"{level}|{parent}|{unit}"


def json_value(v: Any) -> Any:
    """A fact as stored: 是/否 as true/false, an option as its letter, a number as the decimal
    the cell held (a float, exact for up to 15 significant digits)."""
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    return v


def fact_value(v: Any) -> Any:
    """A stored fact back in the engine's types (numbers as exact Fractions)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return Fraction(v)
    return Fraction(repr(v))


def ranks_by_total(units: Sequence[Any]) -> dict[int, tuple[int | None, int]]:
    """Rank by total within each level, as the reports rank (by the exact total, units whose
    totals round alike sharing a rank; vetoed units unranked): index in ``units`` -> (rank,
    number of ranked units of that level)."""
    by_level: dict[str, list[int]] = defaultdict(list)
    for k, u in enumerate(units):
        if not u.score.vetoed:
            by_level[u.entry.level].append(k)
    out: dict[int, tuple[int | None, int]] = {k: (None, len(by_level.get(u.entry.level, ())))
                                              for k, u in enumerate(units)}
    for ks in by_level.values():
        ks.sort(key=lambda k: -units[k].score.exact_total)
        for pos, k in enumerate(ks):
            prev = ks[pos - 1] if pos else None
            same = prev is not None and units[prev].score.total == units[k].score.total  # as the reports rank
            out[k] = (out[prev][0] if same else pos + 1, len(ks))
    return out


def record_run(conn: sqlite3.Connection, result: Any, stage: str = "document") -> int:
    """Record a finished batch (:class:`~qc_batch.batch.run.BatchResult`) as a run of ``stage``;
    return the run's id. All or nothing: an interruption leaves the database as it was."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r}")
    units = result.units
    ranks = ranks_by_total(units)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    settings_file = next((f.file for f in result.files if f.status == "settings"), "")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO runs (year, stage, started, finished, recorded, tool_version, rubric_id, rubric_version,"
            " input_dir, settings_file, units) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (result.settings.year, stage, result.started.isoformat(), result.finished.isoformat(), now,
             __version__, result.rubric.id, result.rubric.version, str(result.input_dir), settings_file,
             len(units)))
        run_id = cur.lastrowid
        conn.executemany(
            "INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(run_id, f.file, f.status, f.reason_code, f.sha256, f.unit, f.level, f.parent, f.year, f.date)
             for f in result.files])
        rows = []
        for k, u in enumerate(units):
            e, data, s = u.entry, u.sheet.data, u.score
            facts = {c: (v if v.__class__ is not Fraction else json_value(v))  # 是/否 and letters as they are
                     for c, v in data.facts.items() if v is not None}
            scores = {c: json_value(x.points) for c, x in s.indicators.items()}
            claims = {c: json_value(r.value) for c, r in data.claims.items() if r.value is not None}
            rank, ranked = ranks[k]
            rows.append((run_id, unit_key(e.level, e.parent, e.unit), e.unit, e.level, e.parent, e.file, e.sha256,
                         e.date, data.text("QC_CONTACT") or "", data.text("QC_PHONE") or "",
                         data.text("QC_EMAIL") or "", str(s.total), str(s.raw_total), s.status, rank, ranked,
                         dumps(facts), dumps(scores), dumps(claims)))
        conn.executemany(
            "INSERT INTO units (run_id, unit_key, unit, level, parent, file, sha256, date, contact, phone, email,"
            " total, raw_total, status, rank, ranked, facts, scores, claims)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return run_id


def record_history(result: Any) -> tuple[Path, int] | None:
    """Record a finished run in the history database its settings name (see
    :func:`~qc_batch.history.db.history_path`); return the file and the run's id, or
    ``None`` when the history is turned off."""
    path = history_path(result.settings, result.input_dir)
    if path is None:
        return None
    conn = connect(path)
    try:
        return path, record_run(conn, result, getattr(result, "stage", "document"))
    except sqlite3.Error as exc:  # e.g. a full disk: the transaction was rolled back
        raise HistoryError(f"本次运行未能记入历年数据库 {path}（{exc}），数据库保持原样；"
                           "输出文件夹已生成，排除问题后重新运行即可记入") from None
    finally:
        conn.close()


@dataclass(frozen=True)
class Record:
    """One unit's current record of one year and stage."""

    year: int
    stage: str
    run_id: int
    unit_key: str
    unit: str
    level: str
    parent: str
    file: str
    sha256: str
    contact: str
    phone: str
    email: str
    total: str
    status: str
    rank: int | None
    ranked: int
    facts_json: str = field(repr=False)
    scores_json: str = field(repr=False)

    @functools.cached_property
    def _raw_facts(self) -> dict[str, Any]:
        return json.loads(self.facts_json)

    @property
    def facts(self) -> dict[str, Any]:
        return {c: fact_value(v) for c, v in self._raw_facts.items()}

    def fact(self, code: str) -> Any:
        """One fact (``None`` when not given), without converting the others."""
        return fact_value(self._raw_facts.get(code))

    @property
    def raw_scores(self) -> dict[str, int | float]:
        return json.loads(self.scores_json)

    @property
    def scores(self) -> dict[str, Fraction]:
        return {c: fact_value(v) for c, v in self.raw_scores.items()}

    @property
    def source(self) -> str:
        """Where a value of this record comes from, for comments: 来自2026年度报送."""
        return f"来自{self.year}年度{STAGE_LABELS[self.stage]}"


_COLUMNS = ("year, stage, run_id, unit_key, unit, level, parent, file, sha256, contact, phone, email,"
            " total, status, rank, ranked, facts, scores")


def current_records(conn: sqlite3.Connection, years: Iterable[int] | None = None, *,
                    before: int | None = None) -> list[Record]:
    """The current record of every unit, year and stage (both stages when both exist);
    only of ``years``, or of the years before ``before``, when given."""
    sql = f"SELECT {_COLUMNS} FROM current_units"
    args: tuple = ()
    if before is not None:
        sql += " WHERE year < ?"
        args = (before,)
    elif years is not None:
        ys = sorted(set(years))
        if not ys:
            return []
        sql += f" WHERE year IN ({','.join('?' * len(ys))})"
        args = tuple(ys)
    sql += " ORDER BY year, stage, id"
    return [Record(*row) for row in conn.execute(sql, args)]


def best_records(records: Iterable[Record]) -> dict[tuple[str, int], Record]:
    """Per (unit key, year) the record that counts: the verified one (final) where it exists."""
    out: dict[tuple[str, int], Record] = {}
    for r in records:
        key = (r.unit_key, r.year)
        if key not in out or STAGES.index(r.stage) > STAGES.index(out[key].stage):
            out[key] = r
    return out


def years_recorded(conn: sqlite3.Connection) -> list[int]:
    return [y for (y,) in conn.execute("SELECT DISTINCT year FROM runs ORDER BY year")]


def by_name(records: Iterable[Record]) -> Mapping[tuple[str, str], list[Record]]:
    """Records by (level, unit name): finds a unit whose 所属市州 was written differently."""
    out: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        out[(r.level, r.unit)].append(r)
    return out
