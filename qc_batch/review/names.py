"""The review workbook's contract with its reader: identity, sheet and defined names.

A review workbook is found by its ``QR_...`` defined names, never by address, like
the score sheet by its ``QC_...`` names.
"""

from __future__ import annotations

from qc_batch.rubric.model import Input, Rubric

TEMPLATE_ID = "qc-batch/review-sheet"
# Bump when the layout or the names change in a way the reader must know about.
TEMPLATE_VERSION = "1"

SHEET_REVIEW = "现场评审"
SHEET_LISTS = "选项与参数"

NAME_TEMPLATE_ID = "QR_TEMPLATE_ID"
NAME_TEMPLATE_VERSION = "QR_TEMPLATE_VERSION"
NAME_RUBRIC_VERSION = "QR_RUBRIC_VERSION"

# header: filled by qc-batch review, locked
NAME_UNIT = "QR_UNIT"
NAME_LEVEL = "QR_LEVEL"
NAME_PARENT = "QR_PARENT"
NAME_YEAR = "QR_YEAR"
NAME_FILE = "QR_SUBMISSION_FILE"
NAME_SHA256 = "QR_SUBMISSION_SHA256"

# the panel's cells
NAME_EXPERTS = "QR_EXPERTS"
NAME_DATE = "QR_DATE"
NAME_OPINION = "QR_OPINION"

IDENTITY_NAMES = (NAME_TEMPLATE_ID, NAME_TEMPLATE_VERSION, NAME_RUBRIC_VERSION)
HEADER_NAMES = (NAME_UNIT, NAME_LEVEL, NAME_PARENT, NAME_YEAR, NAME_FILE, NAME_SHA256)
PANEL_NAMES = (NAME_EXPERTS, NAME_DATE, NAME_OPINION)


def value_name(inp: Input) -> str:
    """``QR_2_6_b``: the verified value of input ``2.6.b`` (blank = confirmed)."""
    return "QR_" + inp.code.replace(".", "_")


def reason_name(inp: Input) -> str:
    """``QR_2_6_b_REASON``: why the panel changed the value."""
    return value_name(inp) + "_REASON"


def veto_name(k: int) -> str:
    """The verified answer to the k-th (1-based) 不予受理 question."""
    return f"QR_VETO_{k}"


def veto_reason_name(k: int) -> str:
    return veto_name(k) + "_REASON"


def veto_code(k: int) -> str:
    """How a veto answer is named where an input code is expected (``changes[].input``)."""
    return f"veto.{k}"


def required_names(rubric: Rubric) -> tuple[str, ...]:
    """Every name the reader needs, in sheet order."""
    names = [*HEADER_NAMES, *PANEL_NAMES]
    for k in range(1, len(rubric.vetoes) + 1):
        names += [veto_name(k), veto_reason_name(k)]
    for inp in rubric.inputs:
        names += [value_name(inp), reason_name(inp)]
    return tuple(names)


def expert_rated(rubric: Rubric) -> tuple[Input, ...]:
    """The inputs the panel decides on site (专家评定): 5.4 and group 11."""
    return tuple(i for ind in rubric.indicators if ind.expert for i in ind.inputs)
