"""The checks before openpyxl opens a workbook: is it really a zip, and would it unpack to a sane size.

Read from the zip's central directory only (the sizes it declares, which Python's zip reader then holds every part
to while unpacking), so a zip bomb named .xlsx (a few KB that unpack to gigabytes) is refused before anything is
unpacked, and a CSV renamed .xlsx is named for what it is. Written by hand: openpyxl has no such limits.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from domainfit.errors import DataError
from domainfit.i18n import _

__all__ = ["XLSX_MAX_BYTES", "XLSX_MAX_RATIO", "check_workbook"]

XLSX_MAX_BYTES = 1 << 30
"""The most a workbook may hold unpacked (1 GiB), and the highest packing ratio of a large part: a zip bomb named
.xlsx (a few KB that unpack to gigabytes) is refused before openpyxl opens it."""
XLSX_MAX_RATIO = 250
_RATIO_FROM = 50 << 20  # the ratio is judged on parts over 50 MB: small parts of real workbooks pack far tighter


def check_workbook(path: Path, shown: str) -> None:
    """Refuse what is not a real workbook, from the zip's central directory (its declared sizes, which Python's zip
    reader then holds each part to), before anything is unpacked."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            what, hint = _("an old Excel (.xls) file"), _("open it in Excel and save it as .xlsx")
        elif head.startswith(b"PAR1"):
            what, hint = _("a Parquet file"), _("rename it to .parquet")
        else:
            what = _("not a zip file, as an .xlsx workbook is: it looks like text")
            hint = _("if it is a CSV or TSV export, give it its real extension (.csv, .tsv)")
        raise DataError(_("this is not an Excel workbook; it is {what}").format(what=what), where=shown, hint=hint)
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(_("cannot read the Excel file: {error}").format(error=e), where=shown,
                        hint=_("check that the file is complete; open and re-save it in Excel as .xlsx")) from None
    total = sum(p.file_size for p in parts)
    worst = max(parts, key=lambda p: p.file_size / max(p.compress_size, 1), default=None)
    ratio = worst.file_size / max(worst.compress_size, 1) if worst else 0.0
    if total > XLSX_MAX_BYTES or (worst is not None and worst.file_size > _RATIO_FROM and ratio > XLSX_MAX_RATIO):
        raise DataError(
            _("the workbook would unpack to {size} MB ({part}: {ratio} times its packed size); refused as a likely zip "
              "bomb").format(size=f"{total / (1 << 20):,.0f}", part=worst.filename if worst else "?", ratio=f"{ratio:,.0f}"),
            where=shown,
            hint=_("a workbook must unpack to at most {size} MB; export large tables as CSV or Parquet").format(
                size=f"{XLSX_MAX_BYTES >> 20:,}"),
        )
