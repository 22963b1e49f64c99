"""Drive LibreOffice Calc over UNO: a helper for the real-client tests.

Runs under the Python that has LibreOffice's ``uno`` module (Debian's
``python3-uno``), not the project's interpreter. Reads one JSON request on
stdin and writes one JSON answer on stdout:

``{"file": PATH, "jobs": [{"set": {name: value}, "read": [names]}, ...]}``
    opens the workbook once; for each job sets the named cells (numbers as
    numbers, text as text, null clears), recalculates everything and reads
    the named cells back; lists every formula cell whose result is an error.
``{"file": PATH, "insert_rows": [[sheet, row, count], ...], "save_as": PATH}``
    inserts rows and saves the workbook again as .xlsx (Excel 2007-365).
``{"file": PATH, "dump": [sheet, ...]}``
    the values of those sheets' used areas, and the number of charts per sheet.
``{"file": PATH, "convert": PATH}``
    saves the recalculated workbook as PDF (for looking at it).
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

FORMULA = uno.Enum("com.sun.star.table.CellContentType", "FORMULA")


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def start_office(profile):
    pipe = f"qcbatch{os.getpid()}"
    proc = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         "-env:UserInstallation=file://" + profile,
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 120
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException as err:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("LibreOffice did not start") from err
            time.sleep(0.3)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return proc, desktop


_CELLS = {}


def cell_of(doc, name):
    if name not in _CELLS:
        ranges = doc.NamedRanges
        if not ranges.hasByName(name):
            _CELLS[name] = None
        else:
            _CELLS[name] = ranges.getByName(name).getReferredCells().getCellByPosition(0, 0)
    return _CELLS[name]


def read_cell(cell):
    if cell.getType() == FORMULA:
        if cell.getError():
            return {"error": cell.getError(), "text": cell.getString()}
        # FormulaResultType2: 1 value, 2 text
        if cell.FormulaResultType2 == 2:
            return cell.getString()
        return cell.getValue()
    t = cell.getType().value
    if t == "EMPTY":
        return None
    if t == "TEXT":
        return cell.getString()
    return cell.getValue()


CONTENTS = 1 | 2 | 4 | 16  # CellFlags VALUE | DATETIME | STRING | FORMULA
ERROR_RESULT = 4  # com.sun.star.sheet.FormulaResult.ERROR


def formula_errors(doc):
    """Every formula cell whose result is an error: [sheet, row, col, formula, code]."""
    out = []
    sheets = doc.Sheets
    for i in range(sheets.Count):
        sheet = sheets.getByIndex(i)
        found = sheet.queryFormulaCells(ERROR_RESULT)
        for addr in found.getRangeAddresses():
            for r in range(addr.StartRow, addr.EndRow + 1):
                for c in range(addr.StartColumn, addr.EndColumn + 1):
                    cell = sheet.getCellByPosition(c, r)
                    out.append([sheet.Name, r, c, cell.getFormula()[:200], cell.getError()])
    return out


def main():
    req = json.load(sys.stdin)
    profile = tempfile.mkdtemp(prefix="lo-profile-")
    proc, desktop = start_office(profile)
    answer = {}
    try:
        url = uno.systemPathToFileUrl(os.path.abspath(req["file"]))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
        if doc is None:
            raise RuntimeError("LibreOffice could not open " + req["file"])
        doc.calculateAll()
        answer["sheets"] = list(doc.Sheets.ElementNames)
        answer["names"] = list(doc.NamedRanges.ElementNames)
        answer["errors_on_load"] = formula_errors(doc)
        answer["dump"] = {}
        for name in req.get("dump", []):
            sheet = doc.Sheets.getByName(name)
            cursor = sheet.createCursor()
            cursor.gotoEndOfUsedArea(False)
            end = cursor.getRangeAddress()
            rng = sheet.getCellRangeByPosition(0, 0, end.EndColumn, end.EndRow)
            answer["dump"][name] = [list(row) for row in rng.getDataArray()]
        answer["charts"] = {n: doc.Sheets.getByName(n).Charts.getCount() for n in answer["sheets"]}
        answer["protected"] = [n for n in answer["sheets"] if doc.Sheets.getByName(n).isProtected()]
        if req.get("jobs"):
            for n in answer["protected"]:  # the bureau's reference cells are locked
                doc.Sheets.getByName(n).unprotect("")
        doc.enableAutomaticCalculation(False)
        doc.addActionLock()
        results = []
        timing = {"set": 0.0, "calc": 0.0, "read": 0.0, "errors": 0.0}
        answer["timing"] = timing
        for job in req.get("jobs", []):
            t0 = time.time()
            missing = []
            for name, value in job.get("set", {}).items():
                cell = cell_of(doc, name)
                if cell is None:
                    missing.append(name)
                elif value is None:
                    cell.clearContents(CONTENTS)
                elif isinstance(value, str):
                    cell.setString(value)
                else:
                    cell.setValue(float(value))
            t1 = time.time()
            doc.calculateAll()
            t2 = time.time()
            got = {}
            for name in job.get("read", []):
                cell = cell_of(doc, name)
                got[name] = None if cell is None else read_cell(cell)
            t3 = time.time()
            results.append({"values": got, "missing_names": missing,
                            "errors": formula_errors(doc) if job.get("check_errors") else []})
            t4 = time.time()
            for key, dt in zip(timing, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=False):
                timing[key] += dt
        answer["results"] = results
        doc.removeActionLock()
        _CELLS.clear()
        for sheet_name, row, count in req.get("insert_rows", []):
            sheet = doc.Sheets.getByName(sheet_name)
            sheet.unprotect("")  # no password: what an official does before inserting rows
            sheet.Rows.insertByIndex(row, count)
            sheet.protect("")
        if req.get("save_as"):
            out = uno.systemPathToFileUrl(os.path.abspath(req["save_as"]))
            doc.storeToURL(out, (prop("FilterName", "Calc MS Excel 2007 XML"),))
        if req.get("convert"):
            out = uno.systemPathToFileUrl(os.path.abspath(req["convert"]))
            doc.storeToURL(out, (prop("FilterName", "calc_pdf_Export"),))
        doc.close(True)
    finally:
        with contextlib.suppress(Exception):
            desktop.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
