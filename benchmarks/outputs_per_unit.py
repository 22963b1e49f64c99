"""What each output of ``qc-batch run`` costs, per unit, in one process.

Usage::

    python benchmarks/outputs_per_unit.py                    # the sample workbooks of input/
    python benchmarks/outputs_per_unit.py --input DIR --repeat 3
    python benchmarks/outputs_per_unit.py --pdf              # also: LibreOffice converting every .docx

Reads the folder once (``run_batch``, one process), then times each writer over every
unit (the fastest of ``--repeat`` passes counts; caches warm after the first pass, as in
an output worker that writes many units) and each once-per-batch writer once. With
``--pdf`` it also times the PDF conversion of every report and the summary (one
LibreOffice process), which ``qc-batch run --pdf`` adds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qc_batch import paths  # noqa: E402
from qc_batch.batch.run import run_batch  # noqa: E402
from qc_batch.outputs.comparison import write_comparison  # noqa: E402
from qc_batch.outputs.docx_report import write_report_docx  # noqa: E402
from qc_batch.outputs.pdf import convert_to_pdf  # noqa: E402
from qc_batch.outputs.report_data import ReportSet, peer_stats, summary_view, unit_view  # noqa: E402
from qc_batch.outputs.reports import group_chart, render_report  # noqa: E402
from qc_batch.outputs.results import results_json  # noqa: E402
from qc_batch.outputs.returned import write_returned  # noqa: E402
from qc_batch.outputs.summary import write_summary  # noqa: E402
from qc_batch.settings import load_settings  # noqa: E402

GENERATED_AT = "2026-01-01T00:00:00+00:00"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=ROOT / "input", help="folder of workbooks with settings.yaml")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the units; the fastest counts")
    ap.add_argument("--pdf", action="store_true", help="also time the PDF conversion (LibreOffice)")
    args = ap.parse_args(argv)

    settings = load_settings(args.input / "settings.yaml")
    result = run_batch(args.input, settings, settings_file=args.input / "settings.yaml", workers=1)
    units = result.units
    rs = ReportSet(peer_stats(result))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for sub in paths.UNIT_DIRS:
            (out / sub).mkdir()
        views = {u.id: {**unit_view(result, u, rs.peers), "chart": True} for u in units}
        texts = {u.id: render_report(views[u.id]) for u in units}
        steps = {
            "report view (unit_view)": lambda u: unit_view(result, u, rs.peers),
            "Markdown report (render + write)": lambda u: paths.under(out, paths.report(u.id)).write_text(
                render_report(views[u.id]), encoding="utf-8"),
            "chart PNG": lambda u: group_chart(views[u.id], paths.under(out, paths.chart(u.id))),
            "Word report (.docx)": lambda u: write_report_docx(paths.under(out, paths.report_docx(u.id)),
                                                               texts[u.id], paths.under(out, paths.chart(u.id))),
            "returned workbook": lambda u: write_returned(paths.under(out, paths.returned(u.id)), u, result.rubric,
                                                          settings.policy, views[u.id]),
        }
        print(f"{len(units)} units, {args.repeat} passes, one process")
        print(f"{'per unit':40} {'ms/unit':>8}")
        for name, step in steps.items():
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                for u in units:
                    step(u)
                best = min(best, time.perf_counter() - t)
            print(f"{name:40} {best / len(units) * 1000:8.2f}")
        rs.views.update((u.id, summary_view(result, u, rs.peers)) for u in units)
        once = {
            "results.json": lambda: (out / paths.RESULTS).write_bytes(results_json(result, GENERATED_AT)),
            "comparison.xlsx": lambda: write_comparison(out / paths.COMPARISON, result, rs, GENERATED_AT),
            "summary.docx": lambda: write_summary(out / paths.SUMMARY, result, rs, GENERATED_AT, True),
        }
        print(f"{'once per batch':40} {'s':>8} {'ms/unit':>8}")
        for name, step in once.items():
            t = time.perf_counter()
            step()
            s = time.perf_counter() - t
            print(f"{name:40} {s:8.2f} {s / len(units) * 1000:8.2f}")
        if args.pdf:
            docs = [out / paths.SUMMARY] + [paths.under(out, paths.report_docx(u.id)) for u in units]
            t = time.perf_counter()
            outcome = convert_to_pdf(docs)
            s = time.perf_counter() - t
            print(f"{'PDF, one LibreOffice process':40} {s:8.2f} {s / len(docs) * 1000:8.0f}  "
                  f"({len(outcome.made)} of {len(docs)} documents) {outcome.message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
