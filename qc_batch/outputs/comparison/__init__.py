"""``comparison.xlsx``: one module per sheet, each a declared table.

- ``table``: :class:`Column`, :class:`Formats`, :class:`Page`, :func:`write_table_sheet` (the API a new sheet uses);
- ``book``: :func:`write_comparison`, the sheets in order;
- ``ranking`` 总排名, ``scores`` 指标得分 and 类别得分率, ``audit_sheets`` 审核发现 and 例行提示,
  ``files`` 文件清单, ``about`` 说明, ``charts`` 图表 (figures on the hidden 图表数据).
"""

from qc_batch.outputs.comparison.book import write_comparison

__all__ = ["write_comparison"]
