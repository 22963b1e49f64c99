"""The plain reader of xl/workbook.xml (qc_batch.read.workbook_xml) gives the streaming parse's
sheets and defined names, or refuses (and the streaming parse reads the part)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qc_batch.read import sheet_xml, workbook_xml
from qc_batch.read import workbook as wr

ROOT = Path(__file__).resolve().parents[1]
M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OTHER = "urn:other"

PLAIN_TEXT = [*"ab 评分表'!$H5_", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#x41;", "&#65;", "&#13;", "&#9;",
              "\t", "\n", ">", '"', "😀"]
OTHER_TEXT = ["\r\n", "\r", "<", "&", "&#xD800;", "\x01", "]]>", "<![CDATA[c]]>", "<!--c-->", "<?p x?>", "<b/>",
              "<x:b/>"]


@st.composite
def workbook_parts(draw) -> bytes:
    """A workbook.xml: what Excel writes, or (half the time) with spellings a reader might get wrong."""
    odd = draw(st.booleans())

    def pick(plain: list, other: list):
        return draw(st.sampled_from(plain + other if odd and draw(st.integers(0, 3)) == 0 else plain))

    def text(quoted: bool = False) -> str:
        got = "".join(draw(st.lists(st.sampled_from(PLAIN_TEXT + OTHER_TEXT if odd else PLAIN_TEXT), max_size=6)))
        return got.replace('"', "&quot;") if quoted and (not odd or draw(st.booleans())) else got

    decl = pick(['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', "", '<?xml version="1.0"?>'],
                ["\ufeff<?xml version='1.0' encoding='utf-8'?>", '<?xml version="1.0" encoding="ISO-8859-1"?>',
                 "<!DOCTYPE workbook>"])
    default = pick([f'xmlns="{M}"'], [f"xmlns='{M}'", f'xmlns="{OTHER}"', "",
                                      'xmlns="http&#58;//schemas.openxmlformats.org/spreadsheetml/2006/main"'])
    r_ns = pick([R], [OTHER, M])
    extra = pick(["", f' xmlns:x="{OTHER}"'], [f' xmlns:x="{M}"', ' mc:Ignorable="x"', f' xmlns:x="{M[:-4]}&#x6D;ain"'])
    root = pick(["workbook"], ["x:workbook", "book"])
    elements = []
    for k in range(draw(st.integers(0, 6))):
        kind = pick(["sheet", "definedName", "definedName"], ["x:definedName", "sheets", "definedNames"])
        attrs = [("name", text(quoted=True))]
        if draw(st.booleans()):
            attrs.append(pick([("localSheetId", "0"), ("r:id", f"rId{k}"), ("hidden", "1")],
                              [("x:id", "1"), ("xmlns", OTHER), ("xmlns:y", OTHER), ("name", "again")]))
        if draw(st.booleans()):
            attrs.reverse()
        sep = pick([" ", "  ", "\n", " \t"], [])
        eq = pick(['="{}"', ' = "{}"'], ["='{}'"])
        open_tag = f"<{kind}" + "".join(f"{sep}{n}{eq.format(v)}" for n, v in attrs)
        body = text()
        end = pick(["/>", f">{body}</{kind}>", f">{body}</{kind} >", f"{sep}>{body}</{kind}>"],
                   [f">{body}<b>{body}</b></{kind}>", f">{body}<x:b/></{kind}>"])
        elements.append(open_tag + end)
    junk = pick(["", "\n", "<bookViews/>", "<sheets/>"], ["<!-- c -->", "<?pi x?>"])
    xml = f"{decl}<{root} {default}{extra} xmlns:r=\"{r_ns}\">{junk}{''.join(elements)}</{root}>"
    return xml.encode("utf-8")


def read_both(xml: bytes):
    """What the streaming parse gives (or its error code), and what the plain reader gives (or None)."""
    try:
        slow = wr.workbook_elements(xml, plain=False)
    except wr.WorkbookError as err:
        slow = err.code
    try:
        fast = workbook_xml.plain_elements(xml)
    except (sheet_xml.NotPlain, UnicodeDecodeError, ValueError):
        fast = None
    return slow, fast


@settings(max_examples=int(os.environ.get("QC_FUZZ_EXAMPLES", "300")), deadline=None,
          derandomize="QC_FUZZ_EXAMPLES" not in os.environ)  # the same examples in CI; random when asked for more
@given(workbook_parts())
def test_plain_reader_agrees_with_the_streaming_parse_or_refuses(xml):
    slow, fast = read_both(xml)
    if fast is not None:
        assert fast == slow
    try:
        both = wr.workbook_elements(xml)
    except wr.WorkbookError as err:
        both = err.code
    assert both == slow


@pytest.mark.parametrize("path", sorted((ROOT / "input").glob("*.xlsx")), ids=lambda p: p.stem)
def test_the_sample_workbooks_are_read_by_the_plain_reader(path):
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/workbook.xml")
    slow, fast = read_both(xml)
    assert fast is not None and fast == slow


def test_the_plain_reader_reads_references_and_prefixed_attributes():
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{M}" xmlns:r="{R}"><sheets>'
           f'<sheet name="A&amp;B" sheetId="1" r:id="rId1"/></sheets><definedNames>'
           f"<definedName name=\"N\">'A&amp;B'!$A$1</definedName>"
           f'<definedName name="L" localSheetId="0">&#x41;</definedName></definedNames></workbook>').encode()
    slow, fast = read_both(xml)
    assert fast == slow
    assert fast[0] == (f"{{{M}}}sheet", {"name": "A&B", "sheetId": "1", f"{{{R}}}id": "rId1"}, "")
    assert fast[1][2] == "'A&B'!$A$1"
