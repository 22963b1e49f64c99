"""The history database: one SQLite file that remembers every run, year after year.

Embedded (the standard library's ``sqlite3``), no server. The schema has a version
(``PRAGMA user_version``) and the migrations that bring an older file up to it; the
tables are documented in ``docs/history.md``.

Per unit, the facts (input code -> value as read), the indicator scores and the
self-assessed scores are kept as one JSON object each: a run of 3,000 units is then
3,000 rows, written with ``executemany`` in one transaction. The views ``fact_rows``
and ``score_rows`` expand them into long tables (``json_each``) for analysts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qc_batch.errors import EXIT_IO, UserError
from qc_batch.outputs.stage import DOCUMENT, FINAL

#: The file name of the default history database (see :func:`default_path`).
DEFAULT_NAME = "qc_history.sqlite"

STAGES = (DOCUMENT, FINAL)  # 书面审核 (the run of the submitted sheets), 现场评审 (verified facts)

_V1 = """
CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    year           INTEGER NOT NULL,
    stage          TEXT    NOT NULL CHECK (stage IN ('document', 'final')),
    started        TEXT    NOT NULL,
    finished       TEXT    NOT NULL,
    recorded       TEXT    NOT NULL,
    tool_version   TEXT    NOT NULL,
    rubric_id      TEXT    NOT NULL,
    rubric_version TEXT    NOT NULL,
    input_dir      TEXT    NOT NULL,
    settings_file  TEXT    NOT NULL,
    units          INTEGER NOT NULL
);
CREATE INDEX runs_year_stage ON runs (year, stage, id);

CREATE TABLE submissions (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    file        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    reason_code TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    unit        TEXT    NOT NULL,
    level       TEXT    NOT NULL,
    parent      TEXT    NOT NULL,
    year        INTEGER,
    date        TEXT    NOT NULL,
    PRIMARY KEY (run_id, file)
);

CREATE TABLE units (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs (id),
    unit_key  TEXT    NOT NULL,
    unit      TEXT    NOT NULL,
    level     TEXT    NOT NULL,
    parent    TEXT    NOT NULL,
    file      TEXT    NOT NULL,
    sha256    TEXT    NOT NULL,
    date      TEXT    NOT NULL,
    contact   TEXT    NOT NULL,
    phone     TEXT    NOT NULL,
    email     TEXT    NOT NULL,
    total     TEXT    NOT NULL,
    raw_total TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    rank      INTEGER,
    ranked    INTEGER NOT NULL,
    facts     TEXT    NOT NULL,
    scores    TEXT    NOT NULL,
    claims    TEXT    NOT NULL,
    UNIQUE (run_id, unit_key)
);
CREATE INDEX units_key ON units (unit_key);

CREATE VIEW current_runs AS
    SELECT r.* FROM runs r
    WHERE r.id = (SELECT max(id) FROM runs x WHERE x.year = r.year AND x.stage = r.stage);

CREATE VIEW current_units AS
    SELECT r.year, r.stage, u.* FROM units u JOIN current_runs r ON r.id = u.run_id;

CREATE VIEW fact_rows AS
    SELECT c.unit_key, c.unit, c.level, c.parent, c.year, c.stage, c.run_id,
           j.key AS input,
           CASE j.type WHEN 'true' THEN '是' WHEN 'false' THEN '否' ELSE j.value END AS value
    FROM current_units c, json_each(c.facts) j;

CREATE VIEW score_rows AS
    SELECT c.unit_key, c.unit, c.level, c.parent, c.year, c.stage, c.run_id,
           j.key AS indicator, j.value AS score, json_extract(c.claims, '$."' || j.key || '"') AS claimed
    FROM current_units c, json_each(c.scores) j;
"""

#: MIGRATIONS[k] brings a database of schema version k to version k + 1.
MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(UserError):
    """The history database cannot be used (message in Chinese, names the file)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_IO)


def default_path(folder: Path) -> Path:
    """The default database: ``qc_history.sqlite`` in ``folder`` (the folder *around* the
    year's input folder, so that it outlives the year)."""
    return folder / DEFAULT_NAME


def history_path(settings: Any, input_dir: Path | None) -> Path | None:
    """Where the history database is: the settings' ``history:`` (relative to the settings
    file's folder), else ``qc_history.sqlite`` in the folder that holds the year's input
    folder (``input_dir``; without it, the settings file's folder, else ``input/``), so that
    it outlives the year. ``None`` when the settings turn the history off (``history: false``)."""
    value = getattr(settings, "history", None)
    if value is False:
        return None
    if isinstance(value, str) and value:
        p = Path(value).expanduser()
        if not p.is_absolute() and getattr(settings, "source", ""):
            p = Path(settings.source).parent / p
        return p
    source = getattr(settings, "source", "")
    # the folder of the year's workbooks (where its settings file lives), else the default input/
    base = Path(input_dir) if input_dir is not None else Path(source).parent if source else Path("input")
    return default_path(base.resolve().parent)


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and, with ``create``, make) the database at ``path``, migrated to the current schema.

    Raises :class:`HistoryError` when the file is not a history database, was written by a
    newer qc-batch, or cannot be opened.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise HistoryError(f"找不到历年数据库 {path}；请先运行一次 qc-batch run，或在设置文件中用 history: 指定其位置")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"无法打开历年数据库 {path}：{exc}") from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise HistoryError(f"{path} 不是可用的历年数据库（{exc}）；请检查设置文件中的 history: 路径") from None
    except HistoryError:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, path: Path | str = "") -> int:
    """Apply the missing migrations, each in its own transaction; return the schema version."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise HistoryError(f"历年数据库 {path} 由更新版本的 qc-batch 写入（数据库版本 {version}，"
                           f"本程序支持 {SCHEMA_VERSION}）；请升级 qc-batch")
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise HistoryError(f"{path} 是其他程序的 SQLite 数据库，不是 qc-batch 的历年数据库；"
                           "请在设置文件中用 history: 另选位置")
    for k in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[k]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {k + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _statements(script: str) -> Sequence[str]:
    """The statements of a migration script (none of ours holds a ';' inside a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]
