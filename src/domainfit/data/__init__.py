"""Reading, checking, cleaning and splitting the user's table files: pure functions, table in, (table, report) out.

    read_table       one file -> strings + `_file`/`_row` (io.py)
    resolve_columns  which column is the text, which the label (columns.py)
    normalize_text   the one text clean-up, shared with serving (clean.py); make_cleaner adds redaction
    Redactor         personal data (names, phones, ID cards, bank cards, emails) -> placeholders (pii.py)
    check_data       every check, every finding at once (checks.py) -> DataReport
    prepare_data     read -> columns -> clean -> checks/rejects -> split (prepare.py, split.py) -> PreparedData
    write_rejects    the rejected rows as an Excel-friendly CSV
"""

from domainfit.data import token_checks as _token_checks  # noqa: F401  (registers the tokenizer checks)
from domainfit.data.checks import DataReport, Issue
from domainfit.data.clean import cleaner_for, make_cleaner, normalize_text
from domainfit.data.columns import resolve_columns
from domainfit.data.io import ReadResult, read_table
from domainfit.data.pii import Redactor
from domainfit.data.prepare import PreparedData, check_data, prepare_data, write_rejects

__all__ = [
    "DataReport",
    "Issue",
    "PreparedData",
    "ReadResult",
    "Redactor",
    "check_data",
    "cleaner_for",
    "make_cleaner",
    "normalize_text",
    "prepare_data",
    "read_table",
    "resolve_columns",
    "write_rejects",
]
