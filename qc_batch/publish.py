"""The output stage of ``qc-batch run``: everything in ``output/``, written atomically.

``results.json``, ``comparison.xlsx``, ``index.md``, ``reports/<id>.md`` with
``reports/<id>.png``, and ``returned/<id>_审核.xlsx``. The per-unit files are
written by worker processes; the whole set is moved into place only when
complete (:class:`~qc_batch.outputs.Staging`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import BatchResult, UnitResult
from .comparison import write_comparison
from .outputs import Staging
from .report_data import build_views
from .reports import cjk_font_path, group_chart, index_markdown, render_report, template_path
from .results import results_json
from .returned import write_returned
from .rubric import Rubric, load_rubric
from .scoring import Policy

PARALLEL_FROM = 12


@dataclass(frozen=True)
class Published:
    out: Path
    reports: int
    returned: int
    charts: bool


def _unit_files(task: tuple[UnitResult, dict[str, Any], Policy, str, str, bool]) -> str:
    u, view, policy, stage, template, charts = task
    rubric: Rubric = load_rubric()
    stage_dir = Path(stage)
    (stage_dir / "reports" / f"{u.id}.md").write_text(render_report(view, Path(template)), encoding="utf-8")
    if charts:
        group_chart(view, stage_dir / "reports" / f"{u.id}.png")
    write_returned(stage_dir / "returned" / f"{u.id}_审核.xlsx", u, rubric, policy, view)
    return u.id


def publish(result: BatchResult, out: Path, generated_at: str, *, workers: int | None = None,
            template: Path | None = None, progress: Callable[[int], Callable[[int], None] | None] | None = None
            ) -> Published:
    """Write every output of a run into ``out``."""
    tpl = str(template_path(template))
    charts = cjk_font_path() is not None
    rs = build_views(result)
    for v in rs.views.values():
        v["chart"] = charts
    with Staging(out) as st:
        for sub in ("reports", "returned"):
            (st.dir / sub).mkdir()
        tasks = [(u, rs.views[u.id], result.settings.policy, str(st.dir), tpl, charts) for u in result.units]
        tick = progress(len(tasks)) if progress else None
        n = workers or os.cpu_count() or 1

        def per_batch() -> None:
            st.path("results.json").write_bytes(results_json(result, generated_at))
            write_comparison(st.path("comparison.xlsx"), result, rs, generated_at)
            st.path("index.md").write_text(index_markdown(result, rs.views, charts), encoding="utf-8")

        if n == 1 or len(tasks) < PARALLEL_FROM:
            per_batch()
            for t in tasks:
                _unit_files(t)
                if tick:
                    tick(1)
        else:
            chunk = max(1, min(16, len(tasks) // (n * 8)))
            with ProcessPoolExecutor(max_workers=n) as pool:
                done = pool.map(_unit_files, tasks, chunksize=chunk)  # submitted now, run meanwhile
                per_batch()
                for _ in done:
                    if tick:
                        tick(1)
    return Published(out, len(tasks), len(tasks), charts)
