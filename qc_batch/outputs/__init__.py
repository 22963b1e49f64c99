"""Everything a run writes: results.json, comparison.xlsx, reports, returned workbooks."""
