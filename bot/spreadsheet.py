"""Writing rows into Excel sheets safely: what people typed is text, never a
formula Excel would run (=HYPERLINK(...) in a complaint stays words)."""
from __future__ import annotations


def append_row(sheet, values) -> None:
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")) and len(cell.value) > 1:
            cell.data_type = "s"


def append_header(sheet, headers) -> None:
    from openpyxl.styles import Font

    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
