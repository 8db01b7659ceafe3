"""Batch prediction over a file: read any supported table, predict, write CSV (utf-8-sig) or JSONL with the input columns.

The columns added depend on the task (`Task.output_columns`): classification `predicted_label, score, top_k` (with
an out-of-scope detector also `out_of_scope, ood_score` beside the label);
multilabel `predicted_labels` (joined with the task's separator), `scores`; regression `predicted_score`.
In CSV a list or mapping is written as JSON; in JSONL it stays a list or object.
"""

from __future__ import annotations

import json
from pathlib import Path

from domainfit.errors import DataError
from domainfit.i18n import _

__all__ = ["predict_file"]


def predict_file(predictor, input_path: str | Path, output: str | Path | None, *, column: str | None = None, top_k: int = 3,
                 encoding: str | None = None, delimiter: str | None = None) -> Path:
    """Every row gets its prediction; a row that cannot be read fails the command naming it (nothing is skipped)."""
    from domainfit.data import read_table, resolve_columns

    read = read_table(input_path, encoding=encoding, delimiter=delimiter)
    tcol, _label = resolve_columns(read.frame, column, None, path=str(input_path), require_label=False)
    frame = read.frame.drop(columns=["_file", "_row"], errors="ignore")
    out = Path(output) if output else Path(input_path).with_name(Path(input_path).stem + ".predictions.csv")
    if out.suffix.lower() not in (".csv", ".jsonl"):
        raise DataError(_("cannot write predictions as {suffix}").format(suffix=repr(out.suffix)), where=str(out), hint=_("use a .csv or .jsonl output path"))
    preds = predictor.predict(frame[tcol].astype(str).tolist(), top_k=top_k)
    added = [predictor.task.output_columns(p) for p in preds]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for row, extra in zip(frame.to_dict(orient="records"), added):
                fh.write(json.dumps({**row, **extra}, ensure_ascii=False) + "\n")
    else:
        frame = frame.copy()
        for name in added[0] if added else ():
            frame[name] = [_cell(extra[name]) for extra in added]
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    return out


def _cell(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
