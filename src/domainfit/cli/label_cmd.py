"""`domainfit data issues` and `domainfit label next|export|import`: thin shells over `domainfit.labelling`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["data_issues", "deep_section", "label_app"]

label_app = typer.Typer(help="Choose what to label next, and round-trip pre-annotations with labelling tools.",
                        no_args_is_help=True)
Opt = typer.Option


def data_issues(
    file: Annotated[Path, typer.Argument(help="labelled table (csv/tsv/jsonl/parquet/xlsx), or entity data (.conll, .jsonl with --task ner)")],
    output: Annotated[Optional[Path], Opt("-o", "--output", help="folder for issues.csv, report.html, ... (default: print only)")] = None,
    text: Annotated[Optional[str], Opt("--text", help="text column (inferred when unambiguous)")] = None,
    label: Annotated[Optional[str], Opt("--label", help="label column (inferred when unambiguous)")] = None,
    task: Annotated[Optional[str], Opt("--task", help="classification, multilabel or ner (default: ner for .conll, else classification)")] = None,
    features: Annotated[str, Opt("--features", help="what the cross-validated model reads: embeddings (cached, of --model) or tfidf")] = "embeddings",
    model: Annotated[Optional[str], Opt("--model", help="backbone of the embeddings (default: bundled MiniLM)")] = None,
    bundle: Annotated[Optional[Path], Opt("--bundle", help="use this bundle's predictions instead of a cross-validated model")] = None,
    fix: Annotated[Optional[str], Opt("--fix", help="drop | relabel: write cleaned.csv and changes.csv to -o (the input is never edited)")] = None,
    folds: Annotated[int, Opt("--folds", help="cross-validation folds")] = 5,
    seed: Annotated[int, Opt("--seed")] = 0,
    encoding: Annotated[Optional[str], Opt("--encoding", help="file encoding (detected when not given)")] = None,
    top: Annotated[int, Opt("--top", help="suspected errors printed")] = 20,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """Which labels are likely wrong (cleanlab on out-of-fold probabilities), which classes are confused, near-duplicates
    with different labels, and outliers."""
    from domainfit.api import find_label_issues

    result = find_label_issues(file, output, task=task, text_column=text, label_column=label, encoding=encoding,
                               features=features, model=model, bundle=bundle, fix=fix, folds=folds, seed=seed)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        return
    _print_issues(result.report, top)
    for name, path in result.files.items():
        print(f"{name}: {path}")


def _print_issues(report, top: int) -> None:
    from rich.table import Table

    from domainfit.cli.ui import console

    s = report.summary()
    console.print(f"{s['rows']} {'sentences' if report.task == 'ner' else 'rows'}: {s['label_issues']} suspected label errors, "
                  f"{s['near_duplicates_with_different_labels']} near-duplicates with different labels, {s['outliers']} outliers "
                  f"[dim]({report.model})[/dim]")
    if len(report.issues):
        table = Table(title="suspected label errors (worst first)")
        for col in ("#", "text", "given", "suggested", "confidence"):
            table.add_column(col, overflow="fold")
        for r in report.issues.head(top).itertuples(index=False):
            table.add_row(str(int(r.position) + 1), str(r.text)[:120], str(r.given_label), str(r.suggested_label), f"{r.confidence:.2f}")
        console.print(table)
    if len(report.confused):
        pairs = ", ".join(f"{a} ↔ {b} ({c})" for a, b, c in report.confused[["class_a", "class_b", "count"]].head(5).itertuples(index=False))
        console.print(f"most confused: {pairs}")


def deep_section(file: Path, *, task: str | None, text: str | None, label: str | None, encoding: str | None,
                 model: str | None, as_json: bool) -> dict | None:
    """`data check --deep`: the label-issue summary and the worst rows, printed (or returned for --json)."""
    from domainfit.api import find_label_issues

    result = find_label_issues(file, None, task=task, text_column=text, label_column=label, encoding=encoding, model=model)
    if as_json:
        return {**result.to_dict(), "worst": result.report.issues.head(20).to_dict(orient="records")}
    _print_issues(result.report, 10)
    return None
