"""The plain-XML cell reader (qc_batch.read.sheet_xml) gives what the full parser (qc_batch.read.sheet_full)
gives, and both give what a reference reader (ElementTree) gives."""

from __future__ import annotations

import datetime as dt
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
