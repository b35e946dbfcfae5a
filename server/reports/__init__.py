"""Reports for the province: the summary of a period (of one office or every office), and the
same as CSV and as an XLSX workbook. No Flask in here.

    summary.py     the numbers, grouped by office, field, counter, clerk, day and hour
    csv_export.py  the CSV (formula-safe)
    workbook.py    the workbook (a sheet per table)
"""
from .csv_export import COLUMNS, GROUPS, RISKY_START, SOURCE_COLUMNS, rows, safe_text, to_csv
from .summary import MAX_DAYS, SOURCES, percentile, summary
from .workbook import to_xlsx

__all__ = ["COLUMNS", "GROUPS", "MAX_DAYS", "RISKY_START", "SOURCES", "SOURCE_COLUMNS", "percentile", "rows",
           "safe_text", "summary", "to_csv", "to_xlsx"]
