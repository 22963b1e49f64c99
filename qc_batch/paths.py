"""Where things are: every file name and path of the template, the output folder and the
outbox, defined once. Paths inside the output folder are relative POSIX text (as links in
``index.md`` and the reports need them); join them to the folder with :func:`under`.
"""

from __future__ import annotations

from pathlib import Path

#: the score sheet template, its file name as officials see it and its place in the project
TEMPLATE_FILE = "score_sheet.xlsx"
TEMPLATE_PATH = f"templates/{TEMPLATE_FILE}"

# -- in the output folder -----------------------------------------------------------------------

RESULTS = "results.json"
COMPARISON = "comparison.xlsx"
INDEX = "index.md"
#: the province summary for leadership (Word)
SUMMARY = "summary.docx"
REPORTS_DIR = "reports"
RETURNED_DIR = "returned"
OUTBOX_DIR = "outbox"
#: the folders ``qc-batch run`` fills with one file or two per unit
UNIT_DIRS = (REPORTS_DIR, RETURNED_DIR)


def report_name(uid: str) -> str:
    """The file name of a unit's Markdown report."""
    return f"{uid}.md"


def chart_name(uid: str) -> str:
    """The file name of a unit's chart, beside its report (the report links it by this name)."""
    return f"{uid}.png"


def returned_name(uid: str) -> str:
    """The file name of a unit's returned workbook."""
    return f"{uid}_审核.xlsx"


def report(uid: str) -> str:
    """``reports/<id>.md``"""
    return f"{REPORTS_DIR}/{report_name(uid)}"


def chart(uid: str) -> str:
    """``reports/<id>.png``"""
    return f"{REPORTS_DIR}/{chart_name(uid)}"


def returned(uid: str) -> str:
    """``returned/<id>_审核.xlsx``"""
    return f"{RETURNED_DIR}/{returned_name(uid)}"


def report_docx(uid: str) -> str:
    """``reports/<id>.docx``: the Word report (the same text as the Markdown one)"""
    return f"{REPORTS_DIR}/{uid}.docx"


def report_pdf(uid: str) -> str:
    """``reports/<id>.pdf``: the Word report as PDF (``qc-batch run --pdf``)"""
    return f"{REPORTS_DIR}/{uid}.pdf"


def outbox_message(uid: str) -> str:
    """``outbox/<id>.eml``"""
    return f"{OUTBOX_DIR}/{uid}.eml"


def under(folder: str | Path, relative: str) -> Path:
    """``relative`` (one of the paths above) inside ``folder``."""
    return Path(folder).joinpath(*relative.split("/"))
