"""The output stage of ``qc-batch run``: everything in ``output/``, written atomically.

``results.json``, ``comparison.xlsx``, ``index.md``, ``reports/<id>.md`` with
``reports/<id>.png``, and ``returned/<id>_审核.xlsx``. The per-unit files are
written by worker processes; the whole set is moved into place only when
complete (:class:`~qc_batch.outputs.staging.Staging`).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qc_batch import paths
from qc_batch.batch import collector, parallel
from qc_batch.batch.run import BatchResult
from qc_batch.outputs.comparison import write_comparison
from qc_batch.outputs.docx_report import write_report_docx
from qc_batch.outputs.pdf import PdfOutcome, convert_to_pdf
from qc_batch.outputs.report_data import ReportSet, peer_stats, summary_view, unit_view
from qc_batch.outputs.reports import cjk_font_path, group_chart, index_markdown, report_renderer, template_path
from qc_batch.outputs.results import results_json
from qc_batch.outputs.returned import write_returned
from qc_batch.outputs.staging import Staging
from qc_batch.outputs.summary import write_summary


@dataclass(frozen=True)
class Published:
    out: Path
    reports: int
    returned: int
    charts: bool
    pdf: PdfOutcome | None = None  # what became of ``--pdf`` (None: not asked)


# What the per-unit stage works from: set before the workers start. Where processes
# fork (Linux), the workers share it without copying; elsewhere it is sent once per
# worker through the pool's initializer.
_STATE: dict[str, Any] = {}


def _init_worker(state: dict[str, Any] | None) -> None:
    collector.in_worker()
    if state is not None:
        _STATE.clear()
        _STATE.update(state)


def _unit_files(k: int) -> str:
    result: BatchResult = _STATE["result"]
    u = result.units[k]
    view = unit_view(result, u, _STATE["peers"])
    view["chart"] = charts = _STATE["charts"]
    stage_dir = _STATE["stage"]
    if (render := _STATE.get("render")) is None:  # the template loaded once per process
        render = _STATE["render"] = report_renderer(_STATE["template"])
    text = render(view)
    paths.under(stage_dir, paths.report(u.id)).write_text(text, encoding="utf-8")
    chart = paths.under(stage_dir, paths.chart(u.id)) if charts else None
    png = group_chart(view, chart) if chart else None
    write_report_docx(paths.under(stage_dir, paths.report_docx(u.id)), text, chart, png)
    write_returned(paths.under(stage_dir, paths.returned(u.id)), u, result.rubric, result.settings.policy, view)
    return u.id


@contextlib.contextmanager
def _heap_frozen():
    """The objects alive now (the whole batch) left out of the cycle collector's full passes
    while the once-per-batch files are written: those writers keep hundreds of thousands of
    new objects alive (every cell of ``comparison.xlsx`` until it is saved), which starts full
    collections, and each one walked the whole batch again (about 0.4 ms a unit in all, in the
    main process while the output workers run). What of it becomes garbage meanwhile is collected later."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _context():
    """Fork where it is the platform's way (Linux): the workers then share the batch. Elsewhere
    (Windows, macOS) spawn, and the batch goes to each worker once, through the initializer."""
    if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _pool(n: int, state: dict[str, Any]) -> ProcessPoolExecutor:
    ctx = _context()
    shared = ctx.get_start_method() == "fork"
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                               initargs=(None if shared else state,))


def publish(result: BatchResult, out: Path, generated_at: str, *, workers: int | None = None,
            template: Path | None = None, progress: Callable[[int], Callable[[int], None] | None] | None = None,
            pdf: bool = False, pdf_progress: Callable[[int], Callable[[int], None] | None] | None = None
            ) -> Published:
    """Write every output of a run into ``out`` (``pdf``: also PDFs of the Word documents, by LibreOffice;
    ``pdf_progress`` as ``progress``, for the PDFs)."""
    with collector.paused():
        return _publish(result, out, generated_at, workers, template_path(template), progress, pdf, pdf_progress)


def _publish(result: BatchResult, out: Path, generated_at: str, workers: int | None, tpl: Path,
             progress: Callable[[int], Callable[[int], None] | None] | None, pdf: bool = False,
             pdf_progress: Callable[[int], Callable[[int], None] | None] | None = None) -> Published:
    charts = cjk_font_path() is not None
    rs = ReportSet(peer_stats(result))  # the views: written while the workers run
    count = len(result.units)
    with Staging(out) as st:
        for sub in paths.UNIT_DIRS:
            (st.dir / sub).mkdir()
        state = {"result": result, "peers": rs.peers, "charts": charts, "stage": st.dir, "template": tpl}
        _STATE.update(state)
        tick = progress(count) if progress else None
        n = parallel.workers_for(count, workers)

        def per_batch() -> None:
            with _heap_frozen():
                _per_batch()

        def _per_batch() -> None:
            rs.views.update((u.id, summary_view(result, u, rs.peers)) for u in result.units)
            st.path(paths.RESULTS).write_bytes(results_json(result, generated_at))
            write_comparison(st.path(paths.COMPARISON), result, rs, generated_at)
            st.path(paths.INDEX).write_text(index_markdown(result, rs.views, charts), encoding="utf-8")
            write_summary(st.path(paths.SUMMARY), result, rs, generated_at, charts)

        try:
            if n == 1:
                per_batch()
                for k in range(count):
                    _unit_files(k)
                    if tick:
                        tick(1)
            else:
                chunk = parallel.chunksize(count, n, parallel.WRITE_CHUNK_MAX)
                with _pool(n, state) as pool:
                    done = pool.map(_unit_files, range(count), chunksize=chunk)  # submitted now, run meanwhile
                    per_batch()
                    for _ in done:
                        if tick:
                            tick(1)
        finally:
            _STATE.clear()
        docs = [st.path(paths.SUMMARY)] + [paths.under(st.dir, paths.report_docx(u.id)) for u in result.units]
        converted = convert_to_pdf(docs, progress=pdf_progress) if pdf else None
    return Published(out, count, count, charts, converted)
