"""report.html of `data issues`: the suspected label errors, the confused class pairs, the near-duplicates with
different labels and the outliers, in the reports' style (English and Chinese headings)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from domainfit.data.label_issues import LabelIssues
from domainfit.evaluation._html import _e, _label, _num, _table
from domainfit.evaluation.report import html_escape, render_page

__all__ = ["write_issues_report"]

MAX_ROWS = 200  # rows shown per table; the CSV files hold them all
MAX_TEXT = 300


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _cell(column: str, value) -> str:
    if column.startswith("text") or column == "token":
        return _e(_short(value))
    if "label" in column or column.startswith("class"):
        return _label(value)
    return _num(value)


def _block(table: pd.DataFrame, columns: list[str], headers: list[str], numeric: list[int], empty: str) -> str:
    if not len(table):
        return f"<p class=\"muted\">{html_escape(empty)}</p>"
    more = f"<p class=\"muted\">first {MAX_ROWS} of {len(table)}; all in the CSV file</p>" if len(table) > MAX_ROWS else ""
    cls = {i: "num" for i in numeric} | {i: "text" for i, c in enumerate(columns) if c.startswith("text")} | {
        i: "label" for i, c in enumerate(columns) if "label" in c or c.startswith("class")}
    rows = [[_cell(c, v) for c, v in zip(columns, row)] for row in table[columns].head(MAX_ROWS).itertuples(index=False)]
    return _table([_e(h) for h in headers], rows, cls=cls, wide=True, scroll=len(table) > 20) + more


def write_issues_report(path: str | Path, report: LabelIssues, *, source: str) -> Path:
    path = Path(path)
    token = "token" in report.issues.columns
    cols = ["position", "text", *(["token"] if token else []), "given_label", "suggested_label", "confidence", "label_quality"]
    heads = ["#", "text · 文本", *(["token · 词"] if token else []), "given · 原标签", "suggested · 建议标签",
             "confidence · 置信度", "label quality · 标签质量"]
    issues = report.issues.assign(position=report.issues["position"].astype(int) + 1) if len(report.issues) else report.issues
    sections = [
        ("issues", f"Suspected label errors · 疑似标注错误 ({len(report.issues)})",
         _block(issues, cols, heads, [0, len(cols) - 2, len(cols) - 1], "no suspected label error · 未发现疑似标注错误")),
        ("confused", "Most confused class pairs · 最易混淆的类别对",
         _block(report.confused, ["class_a", "class_b", "count"], ["class A · 类别A", "class B · 类别B", "rows · 条数"], [2],
                "no overlapping classes · 无混淆类别")),
    ]
    if report.task == "classification":
        dups = report.duplicates.assign(position_a=report.duplicates.get("position_a", pd.Series(dtype=int)) + 1,
                                        position_b=report.duplicates.get("position_b", pd.Series(dtype=int)) + 1)
        outliers = report.outliers.assign(position=report.outliers.get("position", pd.Series(dtype=int)) + 1)
        within = report.class_outliers.assign(position=report.class_outliers.get("position", pd.Series(dtype=int)) + 1)
        sections += [
            ("duplicates", f"Near-duplicates with different labels · 近似重复但标签不同 ({len(report.duplicates)})",
             _block(dups, ["position_a", "text_a", "label_a", "position_b", "text_b", "label_b"],
                    ["#", "text A", "label A", "#", "text B", "label B"], [0, 3], "none found (or no embeddings) · 未发现")),
            ("outliers", f"Outliers · 离群文本 ({len(report.outliers)})",
             _block(outliers, ["position", "text", "label", "outlier_score"], ["#", "text · 文本", "label · 标签", "score · 分数"],
                    [0, 3], "none found (or no embeddings) · 未发现")),
            ("class_outliers", f"Unlike the rest of their label · 与同标签文本不符 ({len(report.class_outliers)})",
             _block(within, ["position", "text", "label", "outlier_score"], ["#", "text · 文本", "label · 标签", "score · 分数"],
                    [0, 3], "none found (or no embeddings) · 未发现")),
        ]
    intro = (f"{source}: {report.rows} {'sentences' if report.task == 'ner' else 'rows'}, task {report.task}. "
             f"Probabilities: {report.model}. Found with cleanlab (confident learning). "
             "# is the position among the rows that have a text and a label (the CSV files give the file's row).")
    for note in report.notes:
        intro += " " + note
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page("domainfit data issues · 标注问题", intro, sections), encoding="utf-8")
    return path
