"""The shape of the package: one catalogue of codes, no import cycles, click only in the
command line, no module over 600 lines, no private names borrowed across modules, and
runtime dependencies that are exactly what the package imports."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from qc_batch import codes
from qc_batch.batch.ingest import FileEntry
from qc_batch.engine.findings import Finding
from qc_batch.outputs.report_data import AUDIT_SECTIONS
from qc_batch.rubric.model import load_rubric

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qc_batch"
MAX_LINES = 600
CODE_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{4,}$")


# -- the package's modules, parsed once ---------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        out[module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scan_sees_the_package():
    names = modules()
    assert {"qc_batch.codes", "qc_batch.cli", "qc_batch.engine.audit", "qc_batch.batch.ingest"} <= set(names)


# -- one catalogue of codes -------------------------------------------------------------------


def _constant(code: str) -> str:
    """The name of the catalogue constant of ``code``."""
    return next(n for n, v in vars(codes).items() if isinstance(v, codes.Code) and v.code == code)


def _code_positions(tree: ast.Module) -> Iterator[ast.expr]:
    """Expressions passed where a code goes: Finding's first argument, FileEntry's third,
    WorkbookError's first, and any ``code=`` or ``reason_code=`` keyword."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        at = {"Finding": 0, "WorkbookError": 0, "FileEntry": 2}.get(func)
        if at is not None and len(node.args) > at:
            yield node.args[at]
        for kw in node.keywords:
            if kw.arg in ("code", "reason_code"):
                yield kw.value


def test_codes_are_written_only_in_the_catalogue():
    """Emitting code writes ``codes.X.code``: a code spelled out anywhere else is an error,
    and so is any string literal passed where a code goes."""
    catalogue = set(codes.CATALOGUE)
    problems = []
    for name, (path, tree) in modules().items():
        if name == "qc_batch.codes":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in catalogue:
                problems.append(f"{rel(path)}:{node.lineno}: code {node.value!r} written out; "
                                f"use codes.{_constant(node.value)}")
        for expr in _code_positions(tree):
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str) and expr.value:
                where = f"{rel(path)}:{expr.lineno}"
                if expr.value not in catalogue:
                    problems.append(f"{where}: code {expr.value!r} is not in qc_batch/codes.py")
    assert problems == [], "\n".join(problems)


def test_every_catalogue_name_used_exists():
    """``codes.X`` anywhere in the package names a declared code or a name of the module."""
    declared = set(vars(codes))
    problems = []
    for _name, (path, tree) in modules().items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "codes"
                    and node.attr not in declared):
                problems.append(f"{rel(path)}:{node.lineno}: codes.{node.attr} is not declared")
    assert problems == [], "\n".join(problems)


def test_code_like_literals_passed_as_codes_are_declared():
    """Anything that looks like a code in a code position is declared (a typo is caught here)."""
    problems = []
    for _name, (path, tree) in modules().items():
        for expr in _code_positions(tree):
            if (isinstance(expr, ast.Constant) and isinstance(expr.value, str) and CODE_LIKE.match(expr.value)
                    and expr.value not in codes.CATALOGUE):
                problems.append(f"{rel(path)}:{expr.lineno}: {expr.value}")
    assert problems == [], "\n".join(problems)


def test_a_finding_with_an_undeclared_code_is_refused():
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        Finding("NOT_A_CODE", "x")
    with pytest.raises(ValueError, match="FILE_CORRUPT"):
        Finding(codes.FILE_CORRUPT.code, "a file reason is not a finding")
    assert Finding(codes.VETO.code, "x").severity == codes.ERROR


def test_a_file_entry_with_an_undeclared_reason_is_refused():
    with pytest.raises(ValueError, match="NOT_A_REASON"):
        FileEntry("a.xlsx", codes.REJECTED, "NOT_A_REASON")
    with pytest.raises(ValueError, match="VETO"):
        FileEntry("a.xlsx", codes.REJECTED, codes.VETO.code)
    assert FileEntry("a.xlsx", codes.REJECTED, codes.FILE_CORRUPT.code).to_dict()["reason_code"] == "FILE_CORRUPT"


def test_each_entry_is_complete_and_named_like_its_code():
    constants = {name: v for name, v in vars(codes).items() if isinstance(v, codes.Code)}
    assert set(c.code for c in constants.values()) == set(codes.CATALOGUE)
    for name, c in constants.items():
        assert name in (c.code, f"{c.code}_CODE"), f"codes.{name} holds {c.code}"
        assert c.kind in (codes.FINDING, codes.FILE), c.code
        assert c.title and c.when, f"{c.code}: a title and a docs text are required"
        if c.kind == codes.FINDING:
            assert c.level in codes.SEVERITIES, c.code
        else:
            assert c.level in (codes.REJECTED, codes.SUPERSEDED), c.code
        # the template's fields are named, and filling them gives the message
        if c.template:
            filled = c.message(**{f: f"<{f}>" for f in c.fields})
            assert all(f"<{f}>" in filled for f in c.fields), c.code
        else:
            assert c.message() == c.title


def test_every_entry_has_a_report_section():
    for c in codes.CATALOGUE.values():
        assert c.section in codes.SECTIONS, f"{c.code}: section {c.section!r} is not in codes.SECTIONS"
        assert (c.section == codes.FILES_SECTION) == (c.kind == codes.FILE), c.code


def test_every_finding_section_and_code_appears_in_the_report():
    """Each finding lands in one section of the report: the audit's sections, or the verdict
    (the vetoes answered 是, which the report's 结论 lists from the view's ``vetoes``)."""
    shown = {key for key, _title, _members in AUDIT_SECTIONS} | {codes.VERDICT_SECTION}
    wanted = {c.section for c in codes.findings()}
    assert wanted <= shown, f"sections missing from the report: {sorted(wanted - shown)}"
    placed = [code for _key, _title, members in AUDIT_SECTIONS for code in members]
    verdict = [c.code for c in codes.findings() if c.section == codes.VERDICT_SECTION]
    assert verdict == [codes.VETO.code]
    assert "u.vetoes" in (ROOT / "templates" / "report.md.j2").read_text(encoding="utf-8")
    assert sorted(placed + verdict) == sorted(c.code for c in codes.findings()), "each finding code in one section"
    assert [title for _k, title, _m in AUDIT_SECTIONS] == [codes.SECTIONS[k] for k, _t, _m in AUDIT_SECTIONS]


def test_docs_tables_are_generated_from_the_catalogue():
    """docs/results.md lists exactly the catalogue (regenerate: python -m qc_batch.codes --write docs/results.md)."""
    doc = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert doc == codes.with_tables(doc), "docs/results.md is stale: run python -m qc_batch.codes --write docs/results.md"
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", doc, flags=re.M))
    assert documented == set(codes.CATALOGUE)


def test_docs_markers_are_required():
    with pytest.raises(ValueError, match="markers"):
        codes.with_tables("no tables here")


def test_codes_command_prints_and_writes_the_tables(tmp_path, capsys):
    assert codes.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `VETO` | 错误 |" in out and "| `FILE_CORRUPT` | rejected |" in out
    doc = tmp_path / "results.md"
    doc.write_text(f"x\n{codes._BEGIN.format('finding')}\nSTALE ROW\n{codes._END.format('finding')}\n"
                   f"{codes._BEGIN.format('file')}\n{codes._END.format('file')}\ny\n", encoding="utf-8")
    assert codes.main(["--write", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "STALE ROW" not in text and "| `SUPERSEDED` | superseded |" in text and text.endswith("y\n")
    assert codes.main([]) == 2


# -- imports ------------------------------------------------------------------------------------


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str) -> set[str]:
    """The package modules ``name`` imports, at top level or inside functions: ``from pkg import
    module`` counts as importing the module; ``from pkg import name`` as importing ``pkg``."""
    known = modules()
    path, tree = known[name]
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, is_package, node)
            for a in node.names:
                if f"{target}.{a.name}" in known:
                    out.add(f"{target}.{a.name}")
                elif target in known:
                    out.add(target)
    out.discard(name)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_from_imports_are_resolved():
    tree = ast.parse("from . import paths\nfrom .ingest import FileEntry\nfrom ..engine import audit\n")
    froms = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert _resolve("qc_batch.batch.run", False, froms[0]) == "qc_batch.batch"
    assert _resolve("qc_batch.batch.run", False, froms[1]) == "qc_batch.batch.ingest"
    assert _resolve("qc_batch.batch.run", False, froms[2]) == "qc_batch.engine"
    assert _resolve("qc_batch.batch", True, froms[1]) == "qc_batch.batch.ingest"


def test_no_import_cycles():
    graph = {name: imports_of(name) for name in modules()}
    assert cycles(graph) == []


def test_only_the_command_line_imports_click():
    users = []
    for name, (_path, tree) in modules().items():
        for node in ast.walk(tree):
            roots = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(r.split(".")[0] == "click" for r in roots):
                users.append(name)
    assert sorted(set(users)) == ["qc_batch.cli"]


def test_no_private_names_borrowed_from_another_module():
    """``from qc_batch.x import _name`` (or ``x._name``) reaches into another module's insides."""
    known = modules()
    problems = []
    for name, (path, tree) in known.items():
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(name, path.name == "__init__.py", node)
                for a in node.names:
                    if f"{target}.{a.name}" in known:
                        aliases[a.asname or a.name] = f"{target}.{a.name}"
                    elif target in known and a.name.startswith("_") and not a.name.startswith("__"):
                        problems.append(f"{rel(path)}:{node.lineno}: imports {target}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in known and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                problems.append(f"{rel(path)}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}")
    assert problems == [], "\n".join(problems)


def test_no_module_is_over_600_lines():
    long = {rel(p): n for p, _t in modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


# -- dependencies -------------------------------------------------------------------------------


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def declared(section: str = "install_requires") -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    text = cfg["options"][section] if section == "install_requires" else cfg["options.extras_require"][section]
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    return {_normalise(re.split(r"[<>=!~;\[ ]", ln)[0]) for ln in lines if ln}


def imported_distributions() -> dict[str, set[str]]:
    """Distribution -> the package modules that import it (stdlib and qc_batch left out)."""
    dists = packages_distributions()
    out: dict[str, set[str]] = {}
    for name, (_path, tree) in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                if root in sys.stdlib_module_names or root == "qc_batch":
                    continue
                for dist in dists.get(root, [f"<not installed: {root}>"]):
                    out.setdefault(_normalise(dist), set()).add(name)
    return out


def test_runtime_dependencies_are_exactly_what_the_package_imports():
    used = imported_distributions()
    runtime = declared()
    assert sorted(set(used) - runtime) == [], f"imported but not in install_requires: {used}"
    assert sorted(runtime - set(used)) == [], "in install_requires but never imported by qc_batch"


def test_test_tools_are_not_runtime_dependencies():
    assert not (declared("test") & declared()), "a dependency is declared twice"
    assert {"pytest", "ruff"} <= declared("test")


# -- the standard's numbers and names live in rubric.yaml -----------------------------------------


def test_the_standards_numbers_and_names_are_not_written_in_code():
    """Totals, counts, level names and the expert-rated indicators come from the rubric's loader
    (``rubric.total``, ``len(rubric.indicators)``, ``rubric.levels``, ``rubric.county_level``,
    ``rubric.levels_text``, ``rubric.expert_text``), never typed again."""
    rubric = load_rubric()
    exact = set(rubric.levels)
    inside = re.compile("|".join([rf"(?<!\d){rubric.total}(?!\d)", rf"(?<!\d){len(rubric.indicators)} 项",
                                  re.escape(rubric.expert_text)]))
    problems = []
    for _name, (path, tree) in modules().items():
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docstrings:
                continue
            if node.value in exact or inside.search(node.value):
                problems.append(f"{rel(path)}:{node.lineno}: {node.value[:60]!r}")
    template = (ROOT / "templates" / "report.md.j2").read_text(encoding="utf-8")
    problems += [f"templates/report.md.j2: {m.group()!r}" for m in inside.finditer(template)]
    assert problems == [], "\n".join(problems)


def test_the_rubric_says_its_levels_and_expert_indicators_in_words():
    rubric = load_rubric()
    assert rubric.levels_text == "或".join(f"“{lv}”" for lv in rubric.levels)
    assert rubric.county_level == rubric.levels[-1]
    expert = [i.code for i in rubric.indicators if i.expert]
    assert expert and all(code in rubric.expert_text or f"第 {code.split('.')[0]} 类" in rubric.expert_text
                          for code in expert)


def _imported_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level only by importing them (and does not export in ``__all__``)."""
    out: set[str] = set()
    exported: set[str] = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))):
            exported.update(e.value for e in node.value.elts if isinstance(e, ast.Constant))
        if isinstance(node, ast.ImportFrom):
            out.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out - exported


def test_names_are_imported_from_where_they_are_defined():
    """``from qc_batch.batch.ingest import REJECTED`` borrows a name ingest only imported (from
    codes): import it from its home. A module re-exports on purpose only through ``__all__``
    (and a package's ``__init__``)."""
    known = modules()
    problems = []
    for name, (path, tree) in known.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(name, path.name == "__init__.py", node)
            if target not in known or known[target][0].name == "__init__.py":
                continue
            borrowed = _imported_names(known[target][1])
            for a in node.names:
                if a.name in borrowed and f"{target}.{a.name}" not in known:
                    problems.append(f"{rel(path)}:{node.lineno}: {a.name} from {target}, which only imports it")
    assert problems == [], "\n".join(problems)
