"""The plain-XML cell reader (qc_batch.read.sheet_xml) gives what the full parser (qc_batch.read.sheet_full)
gives, and both give what a reference reader (ElementTree) gives."""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qc_batch.batch.ingest import _names, formula_names
from qc_batch.read import sheet_xml
from qc_batch.read import workbook as wr
from qc_batch.read.cells import read_date_value

from . import workbooks as wb
from .lo.bridge import run_lo

ROOT = Path(__file__).resolve().parents[1]
WANTED = _names()[1]
FORMULAS = formula_names(wb.RUBRIC)


def read_both(path: Path, monkeypatch, *, plain_expected: bool = True):
    """The workbook read by both readers; with ``plain_expected``, the plain reader must not fall back."""
    slow = wr.read_workbook(path, WANTED, FORMULAS, plain=False)
    with monkeypatch.context() as m:
        if plain_expected:
            def no_full(*_a, **_k):
                raise AssertionError("fell back to the full parser")
            m.setattr(wr, "_full_values", no_full)
        fast = wr.read_workbook(path, WANTED, FORMULAS)
    return fast, slow


def assert_same(fast, slow) -> None:
    assert fast.refs == slow.refs
    assert fast.formula_cells == slow.formula_cells
    assert fast.formulas == slow.formulas
    assert set(fast.values) == set(slow.values)
    for name, want in slow.values.items():
        got = fast.values[name]
        if isinstance(want, (dt.date, dt.datetime)):  # a date cell: its serial number, read as the same date
            assert read_date_value(got).value == read_date_value(want).value, name
        else:
            assert got == want and type(got) is type(want), (name, got, want)


@pytest.mark.parametrize("path", sorted((ROOT / "input").glob("*.xlsx")), ids=lambda p: p.stem)
def test_sample_workbooks_read_the_same(path, monkeypatch):
    assert_same(*read_both(path, monkeypatch))


TEXT = st.lists(st.sampled_from([*"ab 质量&<>\"'_x0041D\n\r\t;=#%", "_x000D_", "😀", "&amp;", "\x01"]),
                max_size=20).map("".join)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=3, max_size=3),
       numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=2),
       flag=st.booleans())
def test_any_text_and_number_read_the_same(tmp_path_factory, monkeypatch, texts, numbers, flag):
    inds = wb.RUBRIC.indicators
    num_input = next(i for ind in inds for i in ind.inputs if i.kind == "num")
    values = wb.unit_values(0, **{
        inds[0].evidence_name: texts[0], inds[1].evidence_name: texts[1], "QC_CONTACT": texts[2],
        num_input.name: numbers[0], inds[2].claim_name: numbers[1], inds[3].claim_name: flag,
    })
    path = wb.write_filled(tmp_path_factory.mktemp("x") / "w.xlsx", values)
    assert_same(*read_both(path, monkeypatch))


def test_openpyxl_saved_workbook_reads_the_same(tmp_path, monkeypatch):
    src = wb.write_filled(tmp_path / "src.xlsx", wb.unit_values(1))
    book = openpyxl.load_workbook(src)
    book.save(tmp_path / "saved.xlsx")
    assert_same(*read_both(tmp_path / "saved.xlsx", monkeypatch))


def test_libreoffice_saved_workbook_reads_the_same(tmp_path, monkeypatch):
    src = wb.write_filled(tmp_path / "src.xlsx", wb.unit_values(2, QC_CONTACT=" 王 & 李 <科长> "))
    run_lo({"file": str(src), "save_as": str(tmp_path / "lo.xlsx")})
    assert_same(*read_both(tmp_path / "lo.xlsx", monkeypatch))


SHEET = "xl/worksheets/sheet3.xml"  # 评分表


@pytest.mark.parametrize(("what", "change"), [
    ("attributes reordered", lambda x: re.sub(rb'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"', rb'<c s="\2" r="\1"', x)),
    ("prefixed elements", lambda x: x.replace(b"<worksheet ", b'<worksheet xmlns:x="' + sheet_xml.MAIN_NS + b'" ', 1)
     .replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")),
    ("tabs before r=", lambda x: x.replace(b"<c r=", b"<c\t\n r=")),
    ("a comment", lambda x: x.replace(b"<row ", b"<!-- x --><row ")),
    ("a processing instruction", lambda x: x.replace(b"<row ", b"<?pi x?><row ", 1)),
    ("character references in addresses", lambda x: x.replace(b'<c r="H', b'<c r="&#72;')),
])
def test_xml_that_is_not_plain_is_read_by_the_full_parser(tmp_path, monkeypatch, what, change):
    src = wb.write_filled(tmp_path / "src.xlsx", wb.unit_values(3))
    with zipfile.ZipFile(src) as z:
        assert "评分表" in z.read("xl/workbook.xml").decode() and SHEET in z.namelist()
    odd = wb.rewrite_member(src, tmp_path / "odd.xlsx", SHEET, change)
    with zipfile.ZipFile(odd) as z, pytest.raises(sheet_xml.NotPlain):
        sheet_xml.check_plain(z.read(SHEET))
    fast, slow = read_both(odd, monkeypatch, plain_expected=False)
    assert_same(fast, slow)
    # read, not blank: the same values as the plain original
    assert fast.values == wr.read_workbook(src, WANTED, FORMULAS, plain=False).values
    assert fast.values == wr.read_workbook(src, WANTED, FORMULAS).values


def test_a_dtd_in_a_sheet_is_unsafe_xml(tmp_path):
    src = ROOT / "input" / "示例数据_长沙市_2026.xlsx"
    odd = wb.rewrite_member(src, tmp_path / "odd.xlsx", SHEET,
                            lambda x: x.replace(b"<worksheet ", b"<!DOCTYPE worksheet [ ]><worksheet ", 1))
    with zipfile.ZipFile(odd) as z, pytest.raises(sheet_xml.NotPlain):
        sheet_xml.check_plain(z.read(SHEET))
    with pytest.raises(wr.WorkbookError) as err:
        wr.read_workbook(odd, WANTED, FORMULAS)
    assert err.value.code == "FILE_UNSAFE_XML" and "DTD" in err.value.message


SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '


def test_shared_strings_that_do_not_add_up_are_not_plain():
    with pytest.raises(sheet_xml.NotPlain):
        sheet_xml.SharedStrings(SST + b'uniqueCount="2"><x:si><x:t>a</x:t></x:si><x:si><x:t>b</x:t></x:si></sst>')
    with pytest.raises(sheet_xml.NotPlain):
        sheet_xml.SharedStrings(SST + b'uniqueCount="2"><si><t>a</t></si><si/></sst>')
    with pytest.raises(sheet_xml.NotPlain):  # a processing instruction hiding a run
        sheet_xml.SharedStrings(SST + b'uniqueCount="1"><si><?x <t>fake</t>?><t>a</t></si></sst>')[0]
    strings = sheet_xml.SharedStrings(SST + b'uniqueCount="3"><si><t>a&amp;b</t></si><si><t/></si>'
                                      b'<si><r><t xml:space="preserve">x </t></r><r><t>y</t></r>'
                                      b'<rPh sb="0" eb="1"><t>pho</t></rPh></si></sst>')
    assert [strings[0], strings[1], strings[2]] == ["a&b", "", "x y"]


# --- the differential test: fast reader, full parser and a reference reader (ElementTree) --------

M = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


class Refused(Exception):
    """The reference reader finds the sheet ambiguous (a wanted cell written twice) or not XML."""


def _excel_text(text: str) -> str:
    return _ESC.sub(lambda m: chr(int(m[1], 16)), text)


def _runs(node) -> str:
    """The text of an <si> or <is> as Excel shows it: <t> children and <r><t>, no <rPh>."""
    out = []
    for child in node:
        if child.tag == f"{{{M}}}t":
            out.append(child.text or "")
        elif child.tag == f"{{{M}}}r":
            out += [t.text or "" for t in child if t.tag == f"{{{M}}}t"]
    return _excel_text("".join(out))


def reference_strings(xml: bytes) -> list[str]:
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml)
    return [_runs(si) for si in root if si.tag == f"{{{M}}}si"]


def reference_values(xml: bytes, wanted: list[str], strings: list[str] | None):
    """name=address -> (value, formula or None), as Excel shows the sheet."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise Refused from None
    found: dict[str, tuple] = {}
    row_no = 0
    for data in root.findall(f"{{{M}}}sheetData"):
        for row in data.findall(f"{{{M}}}row"):
            row_no = int(row.get("r")) if row.get("r") else row_no + 1
            col_no = 0
            for c in row.findall(f"{{{M}}}c"):
                r = c.get("r")
                if r:
                    m = re.fullmatch(r"([A-Z]+)([0-9]+)", r)
                    col_no = wr.col_index(m[1]) + 1
                    address = r
                else:
                    col_no += 1
                    address = f"{wr.col_letters(col_no - 1)}{row_no}"
                if address not in wanted:
                    continue
                if address in found:
                    raise Refused
                t = c.get("t", "n")
                v = c.find(f"{{{M}}}v")
                f = c.find(f"{{{M}}}f")
                formula = None if f is None else (f.text or "")
                if t == "inlineStr":
                    is_ = c.find(f"{{{M}}}is")
                    value = None if is_ is None else _runs(is_)
                elif v is None or (t == "n" and not (v.text or "").strip()):
                    value = None
                elif t == "n":
                    value = float(v.text)
                elif t == "s":
                    value = strings[int(v.text)]
                elif t == "b":
                    value = v.text.strip() == "1"
                elif t == "e":
                    value = None
                else:
                    value = v.text or ""
                found[address] = (value, formula)
    return {a: found.get(a, (None, None)) for a in wanted}


CHARS = [*"ab 质量", "&", "<", ">", '"', "'", "\t", "\n", "_x0041_", "😀", "1"]


def texts(n: int):
    return st.lists(st.sampled_from(CHARS), max_size=n).map("".join)


@st.composite
def xml_text(draw, text: str, plain: bool = False) -> str:
    """``text`` escaped for XML content, each character its own way (raw, entity, char ref, CDATA)."""
    out = []
    for ch in text:
        how = draw(st.sampled_from(["raw"] * 6 + ["dec", "hex"] + ([] if plain else ["cdata"])))
        if how == "dec":
            out.append(f"&#{ord(ch)};")
        elif how == "hex":
            out.append(f"&#x{ord(ch):X};")
        elif how == "cdata" and ch not in "]":
            out.append(f"<![CDATA[{ch}]]>")
        else:
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(ch, ch))
    return "".join(out)


@st.composite
def sheets(draw):
    """A worksheet (and shared strings) in any spelling XML allows, with the cells it holds."""
    plain = draw(st.booleans())  # half the examples in the spelling Excel writes, the fast reader's own
    pre = "" if plain else draw(st.sampled_from(["", "", "", "x:"]))
    sp = st.just(" ") if plain else st.sampled_from([" "] * 12 + ["\t", "\n", "  \n\t"])
    junk = st.just("") if plain else st.sampled_from([""] * 30 + [
        "<!-- c -->", "<?pi x?>", '<!-- <c r="B2" t="inlineStr"><is><t>否</t></is></c> -->',
                            '<?x <c r="B2"><v>9</v></c> ?>', "\n  "])
    strings = draw(st.lists(texts(6), min_size=1, max_size=4))

    def tag(name: str, attrs: list[tuple[str, str]], body: str | None) -> str:
        attrs = draw(st.permutations(attrs)) if attrs and not plain and draw(st.integers(0, 9)) == 0 else attrs
        q = '"' if plain else draw(st.sampled_from(['"'] * 12 + ["'"]))
        a = "".join(f"{draw(sp)}{k}={q}{v}{q}" for k, v in attrs)
        if body is None:
            return f"<{pre}{name}{a}{'' if plain else draw(st.sampled_from([''] * 6 + [' ']))}/>"
        end = "" if plain else draw(st.sampled_from([""] * 12 + [" ", chr(9)]))
        return f"<{pre}{name}{a}{end}>{body}</{pre}{name}>"

    rows = []
    cells: list[str] = []
    for row in range(1, draw(st.integers(1, 3)) + 1):
        parts = []
        for col in sorted(draw(st.sets(st.integers(0, 3), min_size=1, max_size=3))):
            address = f"{wr.col_letters(col)}{row}"
            cells.append(address)
            kind = draw(st.sampled_from(["n", "s", "str", "b", "e", "inlineStr", "empty"]))
            attrs = [("r", address), ("s", "1")]
            formula = draw(st.sampled_from(["", tag("f", [], "1+1"), tag("f", [("t", "shared"), ("si", "0")], None)]))
            if kind == "empty":
                body = None
            elif kind == "n":
                num = draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
                body = formula + tag("v", [], repr(num))
            elif kind == "s":
                attrs.append(("t", "s"))
                body = formula + tag("v", [], str(draw(st.integers(0, len(strings) - 1))))
            elif kind == "b":
                attrs.append(("t", "b"))
                body = formula + tag("v", [], draw(st.sampled_from(["0", "1"])))
            elif kind == "e":
                attrs.append(("t", "e"))
                body = formula + tag("v", [], "#DIV/0!")
            elif kind == "str":
                attrs.append(("t", "str"))
                body = formula + tag("v", [], draw(xml_text(plain=plain, text=draw(texts(5)))))
            else:
                attrs.append(("t", "inlineStr"))
                runs = draw(st.lists(texts(4), min_size=1, max_size=3))
                rich = draw(st.booleans())
                inner = ""
                for t in runs if rich else runs[:1]:
                    run = tag("t", [], draw(xml_text(plain=plain, text=t)))
                    inner += tag("r", [], run) if rich else run
                if draw(st.booleans()):
                    inner += tag("rPh", [("sb", "0"), ("eb", "1")], tag("t", [], "pho"))
                body = tag("is", [], inner)
            cell = tag("c", attrs, body)
            parts.append(draw(junk) + cell)
            if draw(st.integers(0, 40)) == 0:  # the same cell written again
                parts.append(tag("c", [("r", address), ("t", "inlineStr")], tag("is", [], tag("t", [], "dup"))))
        rows.append(tag("row", [("r", str(row))], "".join(parts) + draw(junk)))
    ns = f'xmlns:x="{M}"' if pre else f'xmlns="{M}"'
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?>{draw(junk)}<{pre}worksheet {ns}>'
             f"{tag('dimension', [('ref', 'A1:D3')], None)}<{pre}sheetData>{''.join(rows)}</{pre}sheetData>"
             f"</{pre}worksheet>")
    sst = "".join(tag("si", [], tag("t", [], draw(xml_text(plain=plain, text=s)))) for s in strings)
    sst_xml = (f'<?xml version="1.0" encoding="UTF-8"?><{pre}sst {ns} uniqueCount="{len(strings)}">{sst}'
               f"</{pre}sst>")
    return sheet.encode(), sst_xml.encode(), [*cells, "D9"]


@settings(max_examples=int(os.environ.get("QC_FUZZ_EXAMPLES", "200")), deadline=None,
          derandomize="QC_FUZZ_EXAMPLES" not in os.environ)  # the same examples in CI; random when asked for more
@given(sheets())
def test_fast_reader_full_parser_and_reference_agree(sample):
    """The fast reader gives the reference reader's values or refuses; the full parser always gives them."""
    from qc_batch.read import sheet_full
    sheet, sst, addresses = sample
    wanted = [(a, 0, 0, a) for a in addresses]
    full_cells = [(a, int(re.sub(r"[A-Z]", "", a)) - 1, wr.col_index(re.sub(r"[0-9]", "", a)), a) for a in addresses]
    ref_strings = reference_strings(sst)
    try:
        want = reference_values(sheet, addresses, ref_strings)
    except Refused:
        with pytest.raises(sheet_full.PartError):
            sheet_full.cell_values(sheet, full_cells, sheet_full.shared_strings(sst))
        with pytest.raises(sheet_xml.NotPlain):
            sheet_xml.cell_values(sheet, wanted, sheet_xml.SharedStrings(sst))
        return
    values, formulas = sheet_full.cell_values(sheet, full_cells, sheet_full.shared_strings(sst))
    assert sheet_full.shared_strings(sst) == ref_strings
    assert values == {a: v for a, (v, _f) in want.items()}
    assert formulas == {a: (f, v) for a, (v, f) in want.items() if f is not None}
    try:
        fast, fast_formulas = sheet_xml.cell_values(sheet, wanted, sheet_xml.SharedStrings(sst))
    except sheet_xml.NotPlain:
        return
    assert fast == values and fast_formulas == formulas


def test_the_differential_test_also_sees_the_fast_path():
    """Plain spellings are read by the fast reader itself (not only refused)."""
    sheet = (f'<worksheet xmlns="{M}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>是</t></is></c>'
             f'<c r="B1"><f>0*99</f><v>9</v></c></row></sheetData></worksheet>').encode()
    values, formulas = sheet_xml.cell_values(sheet, [("A1", 0, 0, "A1"), ("B1", 0, 1, "B1")], None)
    assert values == {"A1": "是", "B1": 9.0} and formulas == {"B1": ("0*99", 9.0)}


def test_an_endless_number_reads_the_same_in_both_readers():
    from qc_batch.read import sheet_full
    digits = "1" + "0" * 40000 + "e-40000"
    for body in (f"<v>{digits}</v>", "<!-- full --><v>" + digits + "</v>"):
        sheet = f'<worksheet xmlns="{M}"><sheetData><row r="1"><c r="A1">{body}</c></row></sheetData></worksheet>'
        got, _ = sheet_full.cell_values(sheet.encode(), [("A1", 0, 0, "A1")], None)
        assert got["A1"] == float("inf")
    fast, _ = sheet_xml.cell_values(sheet.replace("<!-- full -->", "").encode(), [("A1", 0, 0, "A1")], None)
    assert fast["A1"] == float("inf")
