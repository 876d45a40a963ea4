"""Rows for the CSV and XLSX files we hand out, so that no cell of them runs as a formula.

Names, places and notes come from users and end up in spreadsheets that staff open. OWASP's
rule against CSV injection: a text cell that starts with = + - @, a tab or a carriage return
gets a leading single quote, so that Excel, LibreOffice and Sheets read it as text. Numbers
stay numbers (a negative amount is not a formula). In XLSX every text value is written as a
string cell, never a formula, and flagged quote-prefixed where it looks like one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """The value as a spreadsheet should show it: text that would start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class CsvWriter:
    """csv.writer whose rows go through `inert` first, lines ended by CRLF as RFC 4180 has it.

    With a bare "\n" line end the csv module leaves a field holding a carriage return
    unquoted, and readers split the row there: a way to start a cell of one's own.
    """

    def __init__(self, out) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([inert(value) for value in row])


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append a row to an XLSX sheet: text as string cells, numbers and dates as they are."""
    values = list(values)
    sheet.append(values)
    for cell, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, str):
            cell.data_type = "s"
            if value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True
