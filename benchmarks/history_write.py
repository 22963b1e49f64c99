"""Benchmark of recording a run in the history database, and of the cross-year checks.

Usage::

    python benchmarks/history_write.py              # 3000 units
    python benchmarks/history_write.py --units 500

Scores a few filled sheets once, then makes a batch of N distinct units from them (the
same facts under other names), and measures, in this process:

1. ``record_run`` of the batch into a fresh database (one transaction, executemany);
2. ``across_years`` for the next year against that database (HISTORY_MISMATCH,
   RANK_CLAIM_CONFLICT, last year's figures), as the next year's run does.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from qc_batch.batch.run import run_batch  # noqa: E402
from qc_batch.history import db  # noqa: E402
from qc_batch.history.audit import across_years  # noqa: E402
from qc_batch.history.store import record_run  # noqa: E402
from qc_batch.settings import parse_settings  # noqa: E402
from tests import workbooks as wb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "input"
        folder.mkdir()
        for k in range(8):
            wb.write_filled(folder / f"u{k}.xlsx", wb.unit_values(k))
        settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML + "history: false\n"))
        base = run_batch(folder, settings, workers=1)
        units = []
        for n in range(args.units):
            u = copy.copy(base.units[n % len(base.units)])
            entry = dataclasses.replace(u.entry, unit=f"{u.entry.unit}{n:04d}", file=f"{n:04d}.xlsx")
            u.sheet = dataclasses.replace(u.sheet, entry=entry)
            u.id, u.findings = f"{u.id}{n:04d}", []
            units.append(u)
        big = dataclasses.replace(base, units=units)
        path = Path(tmp) / db.DEFAULT_NAME
        conn = db.connect(path)
        t = time.perf_counter()
        record_run(conn, big)
        write = time.perf_counter() - t
        conn.close()
        nxt = dataclasses.replace(settings, year=settings.year + 1, history=str(path))
        t = time.perf_counter()
        across_years(units, nxt, folder, base.rubric)
        check = time.perf_counter() - t
        size = path.stat().st_size
    print(f"{args.units} units: recorded in {write:.2f} s ({size / 1e6:.1f} MB); "
          f"next year's cross-year checks in {check:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
