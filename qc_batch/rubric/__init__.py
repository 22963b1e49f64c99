"""Table A.1 as data: the rubric loader, the expression language and its Excel compiler."""
