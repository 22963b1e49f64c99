"""Compile rubric expressions into Excel formulas for the live score sheet.

Cells are referred to by their workbook defined names (``QC_1_3_a``), so the
formulas survive inserted rows. Missing or unreadable inputs follow the same
three-valued logic as the engine: every condition is compiled twice, into a
test that it is known true (``T``) and one that it is known false (``F``);
``not`` swaps them, ``and``/``or`` combine them as Kleene's logic does, and a
comparison is true or false only when all its inputs are valid (guarded by
``IF`` so that nothing is evaluated on a blank or text cell).

Derived ratios are rounded to ``RATIO_DECIMALS`` before they are compared, so
that binary floating point cannot push a value that sits exactly on a
threshold (0.6‰ computed from two amounts) to the wrong side; the engine
compares exactly. Ranking items cannot be known inside one workbook: the
pessimistic compile treats 前列/中游 as not reached, the optimistic one treats
every figure above 0 as 前列 (the sheet's "最高可得").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from qc_batch.rubric import expr
from qc_batch.rubric.expr import And, Arith, Compare, Func, Given, Node, Not, Num, Or, RankBand, Ref, Var
from qc_batch.rubric.model import Indicator, Input, Part

RATIO_DECIMALS = 10
#: trailing words a count may carry ("3个", "第2名"), as the batch reads them
COUNT_SUFFIXES = "名个项次家人"
PCT_DECIMALS = 4
YES_LIST = "QC_LIST_YES"
NO_LIST = "QC_LIST_NO"


def ref_name(ref: str) -> str:
    """Defined name of the cell holding a national reference value."""
    return "QC_REF_" + ref.upper()


def num_literal(v) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return repr(float(v))


def _text(cell: str) -> str:
    """The cell's text as the batch normalises it: full-width to half-width (ASC), spaces removed."""
    return f'SUBSTITUTE(ASC({cell})," ","")'


def word_count(name: str, words_list: str) -> str:
    """How many of the accepted words a yes/no cell matches (0 or 1): compared as the batch
    compares them, full-width to half-width, spaces removed, case-insensitive."""
    return f"SUMPRODUCT(--({_text(name)}={words_list}))"


def bool_test(name: str, words_list: str) -> str:
    """Whether a yes/no cell holds one of the accepted words."""
    return f"{word_count(name, words_list)}>0"


def read_name(inp: Input) -> str:
    """Defined name of the hidden cell holding a numeric input as the batch reads it."""
    return inp.name + "_READ"


def claim_read_name(claim_name: str) -> str:
    """Defined name of the hidden cell holding a 自评分 as the batch reads it."""
    return claim_name + "_READ"


def read_formula(inp: Input) -> str:
    """The numeric input's value as the batch reads it, or "" (without the leading ``=``).

    A number is taken as it is; text is read like the batch reads it: full-width
    digits and signs (９５．８, ９８．８％), spaces, a trailing % (a percent), thousands
    separators (1,234.5), the unit shown (120万元), and for counts 第…名 and a trailing
    个/项/次/家/人. A percent from 0 to 1 is a fraction (0.975 is 97.5).
    """
    x = inp.name
    t = _text(x)
    if inp.kind == "pct":
        text = (f'IF(RIGHT({t},1)="%",VALUE(LEFT({t},LEN({t})-1)),'
                f'IF(VALUE({t})<=1,VALUE({t})*100,VALUE({t})))')
        number = f"IF({x}<=1,{x}*100,{x})"
    else:
        if inp.kind in ("int", "rank"):
            t1 = f'IF(LEFT({t},1)="第",MID({t},2,255),{t})'
            t = f'IF(ISNUMBER(FIND(RIGHT({t1},1),"{COUNT_SUFFIXES}")),LEFT({t1},LEN({t1})-1),{t1})'
        elif inp.unit:
            unit = normalize_unit(inp.unit)
            t = f'IF(RIGHT({t},{len(unit)})="{unit}",LEFT({t},LEN({t})-{len(unit)}),{t})'
        text = f"VALUE({t})"
        number = x
    return f'IF(ISNUMBER({x}),{number},IF(ISTEXT({x}),IFERROR({text},""),""))'


def claim_read_formula(claim_name: str) -> str:
    """A 自评分 as the batch reads it ("20分" is 20), or "" (without the leading ``=``)."""
    t = f'SUBSTITUTE({_text(claim_name)},"分","")'
    return f'IF(ISNUMBER({claim_name}),{claim_name},IF(ISTEXT({claim_name}),IFERROR(VALUE({t}),""),""))'


def normalize_unit(unit: str) -> str:
    """The unit as the batch compares it (NFKC, no spaces)."""
    return "".join(unicodedata.normalize("NFKC", unit).split())


def valid_test(inp: Input) -> str:
    """An error-free test that a numeric input holds a usable number (read as the batch reads it).

    Excel's AND evaluates every argument, so the range tests are only reached
    through IF once ISNUMBER holds (unreadable text gives FALSE, not #VALUE!).
    """
    n = read_name(inp)
    tests = []
    if inp.kind == "pct":
        tests += [f"{n}>=0", f"{n}<=100"]
    elif inp.kind in ("int", "rank"):
        low = 1 if inp.kind == "rank" or inp.positive else 0
        tests += [f"{n}>={low}", f"{n}=INT({n})"]
    else:
        tests.append(f"{n}>0" if inp.positive else f"{n}>=0")
        if inp.upper is not None:
            tests.append(f"{n}<={num_literal(inp.upper)}")
    return f"IF(ISNUMBER({n}),AND({','.join(tests)}),FALSE)"


def input_value(inp: Input) -> str:
    """The cell's value as the engine reads it (a percent value for pct)."""
    if inp.kind == "pct":
        # the read cell has made 0..1 a percent already
        return f"ROUND({read_name(inp)},{PCT_DECIMALS})"
    return read_name(inp)


def _and(items: list[str]) -> str:
    items = [i for i in items if i != "TRUE"]
    if "FALSE" in items:
        return "FALSE"
    if not items:
        return "TRUE"
    return items[0] if len(items) == 1 else f"AND({','.join(items)})"


def _or(items: list[str]) -> str:
    items = [i for i in items if i != "FALSE"]
    if "TRUE" in items:
        return "TRUE"
    if not items:
        return "FALSE"
    return items[0] if len(items) == 1 else f"OR({','.join(items)})"


@dataclass
class Compiler:
    """Compiles one indicator's expressions."""

    indicator: Indicator
    optimistic: bool = False

    def _input(self, var: Var) -> Input:
        return self.indicator.input(var.name)

    # numbers -------------------------------------------------------------
    def value(self, node: Node) -> str:
        if isinstance(node, Num):
            return num_literal(node.value)
        if isinstance(node, Var):
            return input_value(self._input(node))
        if isinstance(node, Ref):
            return ref_name(node.name)
        if isinstance(node, Arith):
            return f"({self.value(node.left)}{node.op}{self.value(node.right)})"
        if isinstance(node, Func):
            if node.name == "ceil":
                return f"(-INT(-ROUND({self.value(node.args[0])},{RATIO_DECIMALS})))"
            return f"{node.name.upper()}({','.join(self.value(a) for a in node.args)})"
        raise expr.ExprError(f"not a number: {node!r}")

    def _guards(self, node: Node) -> tuple[list[str], list[str]]:
        """(validity tests, divisor tests) that make ``value(node)`` defined."""
        valid: list[str] = []
        divisors: list[str] = []

        def walk(n: Node) -> None:
            if isinstance(n, Var):
                t = valid_test(self._input(n))
                if t not in valid:
                    valid.append(t)
            elif isinstance(n, Ref):
                t = f"ISNUMBER({ref_name(n.name)})"
                if t not in valid:
                    valid.append(t)
            for c in expr.children(n):
                walk(c)
            if isinstance(n, Arith) and n.op == "/":
                d = f"{self.value(n.right)}<>0"
                if not (isinstance(n.right, Num)) and d not in divisors:
                    divisors.append(d)

        walk(node)
        return valid, divisors

    def _guarded(self, node: Node, test: str) -> str:
        valid, divisors = self._guards(node)
        if divisors:
            test = f"IF({_and(divisors)},{test},FALSE)"
        if valid:
            test = f"IF({_and(valid)},{test},FALSE)"
        return test

    @staticmethod
    def _derived(node: Node) -> bool:
        return isinstance(node, (Arith, Func)) or any(
            Compiler._derived(c) for c in expr.children(node))

    def _compare(self, node: Compare, negate: bool) -> str:
        left, right = self.value(node.left), self.value(node.right)
        if self._derived(node.left) or self._derived(node.right):
            left, right = f"ROUND({left},{RATIO_DECIMALS})", f"ROUND({right},{RATIO_DECIMALS})"
        op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
        test = f"{left}{op}{right}"
        if negate:
            test = f"NOT({test})"
        return self._guarded(Arith("+", node.left, node.right), test)

    # conditions ----------------------------------------------------------
    def true(self, node: Node) -> str:
        """Excel test that ``node`` is known to be true."""
        return self._cond(node, True)

    def false(self, node: Node) -> str:
        """Excel test that ``node`` is known to be false."""
        return self._cond(node, False)

    def _rank_by(self) -> Node:
        for p in self.indicator.parts:
            if p.rank_by is not None and self._current_part is p:
                return p.rank_by
        raise expr.ExprError("front/middle outside a ranked part")

    _current_part: Part | None = None

    def _cond(self, node: Node, want: bool) -> str:
        if isinstance(node, Var):
            name = self._input(node).name
            return bool_test(name, YES_LIST if want else NO_LIST)
        if isinstance(node, Given):
            inp = self._input(node.var)
            known = (_or([bool_test(inp.name, YES_LIST), bool_test(inp.name, NO_LIST)])
                     if inp.kind == "bool" else valid_test(inp))
            return known if want else f"NOT({known})"
        if isinstance(node, Compare):
            return self._compare(node, negate=not want)
        if isinstance(node, Not):
            return self._cond(node.item, not want)
        if isinstance(node, And):
            parts = [self._cond(i, want) for i in node.items]
            return _and(parts) if want else _or(parts)
        if isinstance(node, Or):
            parts = [self._cond(i, want) for i in node.items]
            return _or(parts) if want else _and(parts)
        if isinstance(node, RankBand):
            if not self.optimistic or node.band == "middle":
                return "FALSE" if want else "TRUE"
            rank_by = self._rank_by()
            return self._cond(Compare(">" if want else "<=", rank_by, Num(expr.Fraction(0))), True)
        raise expr.ExprError(f"not a condition: {node!r}")

    # scores --------------------------------------------------------------
    def part_formula(self, part: Part, na_policy: str = "prorate") -> str:
        self._current_part = part
        try:
            out = "0"
            for case in reversed(part.cases):
                pts = self.value(case.points)
                cond = self.true(case.when)
                if cond == "TRUE":
                    out = pts
                elif cond != "FALSE":  # a case the sheet cannot reach is left out
                    out = f"IF({cond},{pts},{out})"
            if part.na is not None:
                na_pts = str(part.points) if na_policy == "full" else "0"
                out = f"IF({self.true(part.na)},{na_pts},{out})"
            return out
        finally:
            self._current_part = None

    def na_formula(self, na_policy: str = "prorate") -> str:
        """Points of this indicator that are not applicable (合理缺项)."""
        terms = []
        for part in self.indicator.parts:
            if part.na is not None and na_policy == "prorate":
                terms.append(f"IF({self.true(part.na)},{part.points},0)")
        return "+".join(terms) if terms else "0"

    def score_formula(self, na_policy: str = "prorate") -> str:
        """The indicator's points (without the leading ``=``)."""
        ind = self.indicator
        if ind.is_tier:
            inp = ind.inputs[0]
            letters = "".join(o.letter for o in inp.options)
            pts = ",".join(str(o.points) for o in inp.options)
            t = _text(inp.name)
            return (f"IF(LEN({t})=0,0,IFERROR(CHOOSE(FIND(UPPER(LEFT({t},1)),\"{letters}\"),"
                    f"{pts}),0))")
        return "+".join(self.part_formula(p, na_policy) for p in ind.parts)

    def missing_formula(self, inp: Input) -> str:
        """1 when ``inp`` is required and not given, else 0."""
        if inp.kind == "tier":
            if self.indicator.expert:
                return "0"
            known = f"LEN(TRIM({inp.name}))>0"
        elif inp.kind == "bool":
            known = _or([bool_test(inp.name, YES_LIST), bool_test(inp.name, NO_LIST)])
        else:
            known = valid_test(inp)
        test = f"IF({known},0,1)"
        if inp.required_if is not None:
            test = f"IF({self.true(inp.required_if)},{test},0)"
        return test


def compile_indicator(ind: Indicator, na_policy: str = "prorate",
                      optimistic: bool = False) -> str:
    return Compiler(ind, optimistic=optimistic).score_formula(na_policy)


def formulas(ind: Indicator, na_policy: str = "prorate") -> Mapping[str, str]:
    """All formulas the sheet needs for one indicator."""
    c = Compiler(ind)
    out = {"score": c.score_formula(na_policy), "na": c.na_formula(na_policy)}
    if ind.is_ranked:
        out["best"] = Compiler(ind, optimistic=True).score_formula(na_policy)
    for inp in ind.inputs:
        out[f"missing:{inp.code}"] = c.missing_formula(inp)
    return out
