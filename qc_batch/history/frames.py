"""The history as pandas DataFrames, for analysts; and the long table of ``qc-batch history``.

>>> from qc_batch.history import frame
>>> scores = frame("qc_history.sqlite", what="scores")   # one row per unit, year, stage, indicator

``what``: ``scores`` (indicator scores and 自评分), ``facts`` (every input as read),
``long`` (the two joined: one row per input, with its indicator's score), ``units``
(totals, status, rank), ``runs`` (every run, the audit trail) or ``submissions`` (every
file of every run with its SHA-256). Every frame but ``runs`` and ``submissions`` holds the
current record of each year and stage (``stage``: ``document`` 报送 / ``final`` 专家核定).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from qc_batch.history.db import HistoryError, connect
from qc_batch.rubric.model import load_rubric

_KEYS = "unit_key, unit, level, parent, year, stage, run_id"
QUERIES = {
    "scores": f"SELECT {_KEYS}, indicator, score, claimed FROM score_rows ORDER BY year, stage, unit_key",
    "facts": f"SELECT {_KEYS}, input, value FROM fact_rows ORDER BY year, stage, unit_key",
    "units": "SELECT year, stage, run_id, unit_key, unit, level, parent, file, sha256, date, contact, phone, email,"
             " CAST(total AS REAL) AS total, CAST(raw_total AS REAL) AS raw_total, status, rank, ranked"
             " FROM current_units ORDER BY year, stage, level, rank IS NULL, rank, unit",
    "runs": "SELECT * FROM runs ORDER BY id",
    "submissions": "SELECT * FROM submissions ORDER BY run_id, file",
}
WHATS = (*QUERIES, "long")

#: column headings of the exported long table (what bureau staff open in Excel)
LONG_HEADINGS = {"unit": "单位", "level": "层级", "parent": "所属市州", "year": "年度", "stage": "阶段",
                 "indicator": "指标", "score": "指标得分", "claimed": "自评分", "input": "填报项", "value": "填报值",
                 "run_id": "运行编号"}
STAGE_NAMES = {"document": "报送", "final": "专家核定"}


def frame(db: str | Path | sqlite3.Connection, what: str = "scores") -> Any:
    """The history database ``db`` (a path or an open connection) as a pandas DataFrame."""
    import pandas as pd

    if what not in WHATS:
        raise ValueError(f"what must be one of {', '.join(WHATS)}, not {what!r}")
    conn = db if isinstance(db, sqlite3.Connection) else connect(Path(db), create=False)
    try:
        if what != "long":
            return pd.read_sql_query(QUERIES[what], conn)
        scores = pd.read_sql_query(QUERIES["scores"], conn)
        facts = pd.read_sql_query(QUERIES["facts"], conn)
    finally:
        if conn is not db:
            conn.close()
    rubric = load_rubric()
    facts["indicator"] = [rubric.input(c).indicator for c in facts["input"]]
    keys = ["unit_key", "unit", "level", "parent", "year", "stage", "run_id", "indicator"]
    long = scores.merge(facts, on=keys, how="left")
    order = {ind.code: k for k, ind in enumerate(rubric.indicators)}
    inputs = {inp.code: k for k, inp in enumerate(rubric.inputs)}
    long["_i"] = long["indicator"].map(order)
    long["_j"] = long["input"].map(inputs).fillna(-1)
    long = long.sort_values(["year", "stage", "level", "parent", "unit", "_i", "_j"], kind="stable")
    return long.drop(columns=["_i", "_j", "unit_key"]).reset_index(drop=True)


def export(db: Path, target: Path) -> int:
    """Write the long table to ``target`` (``.xlsx`` or ``.csv``, headings in Chinese); return its rows."""
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise HistoryError(f"导出文件 {target.name} 应以 .xlsx 或 .csv 结尾")
    long = frame(db, "long")
    long["stage"] = long["stage"].map(STAGE_NAMES).fillna(long["stage"])
    long = long[[c for c in LONG_HEADINGS if c in long.columns]].rename(columns=LONG_HEADINGS)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suffix == ".csv":
            long.to_csv(target, index=False, encoding="utf-8-sig")  # with a BOM: Excel opens it as UTF-8
        else:
            long.to_excel(target, index=False, sheet_name="历年明细", engine="xlsxwriter")
    except OSError as exc:
        raise HistoryError(f"无法写入 {target}：{exc.strerror or exc}") from None
    return len(long)


def summary(db: Path) -> list[str]:
    """What the database holds, in Chinese lines: per year and stage, the current run and its units."""
    conn = connect(db, create=False)
    try:
        rows = conn.execute("SELECT r.year, r.stage, r.id, r.recorded, r.units,"
                            " (SELECT count(*) FROM runs x WHERE x.year = r.year AND x.stage = r.stage)"
                            " FROM current_runs r ORDER BY r.year, r.stage").fetchall()
    finally:
        conn.close()
    if not rows:
        return [f"历年数据库 {db} 中还没有运行记录"]
    out = [f"历年数据库 {db}："]
    for year, stage, run_id, recorded, units, runs in rows:
        out.append(f"  {year}年度（{STAGE_NAMES.get(stage, stage)}）：现行记录为第 {run_id} 次运行（{recorded}），"
                   f"{units} 个单位；该年度共运行 {runs} 次")
    return out
