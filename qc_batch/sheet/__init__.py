"""The fillable score sheet template (xlsxwriter)."""
