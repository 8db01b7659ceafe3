"""`domainfit data issues` and `domainfit label next|export|import`: thin shells over `domainfit.labelling`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from domainfit.i18n import _

__all__ = ["data_issues", "deep_section", "label_app"]

label_app = typer.Typer(help="Choose what to label next, and round-trip pre-annotations with labelling tools.",
                        no_args_is_help=True)
Opt = typer.Option


def data_issues(
    file: Annotated[Path, typer.Argument(help="labelled table (csv/tsv/jsonl/parquet/xlsx), or entity data (.conll, .jsonl with --task ner)")],
    output: Annotated[Path | None, Opt("-o", "--output", help="folder for issues.csv, report.html, ... (default: print only)")] = None,
    text: Annotated[str | None, Opt("--text", help="text column (inferred when unambiguous)")] = None,
    label: Annotated[str | None, Opt("--label", help="label column (inferred when unambiguous)")] = None,
    task: Annotated[str | None, Opt("--task", help="classification, multilabel or ner (default: ner for .conll, else classification)")] = None,
    features: Annotated[str, Opt("--features", help="what the cross-validated model reads: embeddings (cached, of --model) or tfidf")] = "embeddings",
    model: Annotated[str | None, Opt("--model", help="backbone of the embeddings (default: bundled MiniLM)")] = None,
    bundle: Annotated[Path | None, Opt("--bundle", help="use this bundle's predictions instead of a cross-validated model")] = None,
    fix: Annotated[str | None, Opt("--fix", help="drop | relabel | auto (relabel the confident suggestions, drop the other flagged rows): write cleaned.csv and changes.csv to -o (the input is never edited)")] = None,
    relabel_above: Annotated[str, Opt("--relabel-above", help="--fix auto: relabel when the suggestion's out-of-fold probability is at least this; 'class': cleanlab's confident threshold of the suggested class")] = "0.7",
    folds: Annotated[int, Opt("--folds", help="cross-validation folds")] = 5,
    seed: Annotated[int, Opt("--seed")] = 0,
    encoding: Annotated[str | None, Opt("--encoding", help="file encoding (detected when not given)")] = None,
    top: Annotated[int, Opt("--top", help="suspected errors printed")] = 20,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """Which labels are likely wrong (cleanlab on out-of-fold probabilities), which classes are confused, near-duplicates
    with different labels, and outliers."""
    from domainfit.api import find_label_issues

    result = find_label_issues(file, output, task=task, text_column=text, label_column=label, encoding=encoding,
                               features=features, model=model, bundle=bundle, fix=fix, relabel_above=relabel_above, folds=folds,
                               seed=seed)
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
    console.print((_("{rows} sentences") if report.task == "ner" else _("{rows} rows")).format(rows=s["rows"]) + ": "
                  + _("{issues} suspected label errors, {duplicates} near-duplicates with different labels, {outliers} "
                      "outliers").format(issues=s["label_issues"], duplicates=s["near_duplicates_with_different_labels"],
                                         outliers=s["outliers"]) + f" [dim]({report.model})[/dim]")
    if len(report.issues):
        table = Table(title=_("suspected label errors (worst first)"))
        for col in ("#", _("text"), _("given"), _("suggested"), _("confidence")):
            table.add_column(col, overflow="fold")
        for r in report.issues.head(top).itertuples(index=False):
            table.add_row(str(int(r.position) + 1), str(r.text)[:120], str(r.given_label), str(r.suggested_label), f"{r.confidence:.2f}")
        console.print(table)
    if len(report.confused):
        pairs = ", ".join(f"{a} ↔ {b} ({c})" for a, b, c in report.confused[["class_a", "class_b", "count"]].head(5).itertuples(index=False))
        console.print(_("most confused: {pairs}").format(pairs=pairs))


def deep_section(file: Path, *, task: str | None, text: str | None, label: str | None, encoding: str | None,
                 model: str | None, as_json: bool) -> dict | None:
    """`data check --deep`: the label-issue summary and the worst rows, printed (or returned for --json)."""
    from domainfit.api import find_label_issues

    result = find_label_issues(file, None, task=task, text_column=text, label_column=label, encoding=encoding, model=model)
    if as_json:
        return {**result.to_dict(), "worst": result.report.issues.head(20).to_dict(orient="records")}
    _print_issues(result.report, 10)
    return None


@label_app.command("next")
def label_next(
    pool: Annotated[Path, typer.Argument(help="unlabelled texts (csv/tsv/jsonl/parquet/xlsx)")],
    output: Annotated[Path, Opt("-o", "--output", help="where to write the chosen rows (csv, jsonl or xlsx)")] = Path("to_label.csv"),
    bundle: Annotated[Path | None, Opt("--bundle", help="a trained bundle whose uncertainty guides the choice")] = None,
    seed_data: Annotated[Path | None, Opt("--seed", help="labelled rows to fit a `head` model on instead of a bundle")] = None,
    labelled: Annotated[Path | None, Opt("--labelled", help="rows already labelled: their near-duplicates are not picked")] = None,
    n: Annotated[int, Opt("--n", help="how many texts to pick")] = 200,
    strategy: Annotated[str, Opt("--strategy", help="hybrid (uncertainty within k-means clusters), uncertainty, kmeans, coreset, random")] = "hybrid",
    measure: Annotated[str, Opt("--measure", help="uncertainty: margin (default: best on Banking77 and Financial PhraseBank), entropy or least-confidence")] = "margin",
    model: Annotated[str | None, Opt("--model", help="backbone of the embeddings (default: bundled MiniLM)")] = None,
    text: Annotated[str | None, Opt("--text", help="text column (inferred when unambiguous)")] = None,
    label: Annotated[str | None, Opt("--label", help="label column of --seed / --labelled")] = None,
    duplicate_threshold: Annotated[float, Opt("--duplicate-threshold", help="cosine similarity above which a text counts as already labelled")] = 0.95,
    random_seed: Annotated[int, Opt("--random-seed")] = 0,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """The texts most worth labelling now, each with the reason it was picked."""
    from domainfit.api import label_next as _next
    from domainfit.cli.ui import console

    result = _next(pool, n=n, bundle=bundle, seed_data=seed_data, labelled=labelled, strategy=strategy, measure=measure,
                   model=model, text_column=text, label_column=label, duplicate_threshold=duplicate_threshold, seed=random_seed)
    _write_table(result.table, output)
    if as_json:
        print(json.dumps({**result.to_dict(), "output": str(output)}, indent=2, ensure_ascii=False))
        return
    console.print(_("picked {n} of {pool} texts ({strategy}; {duplicates} near-duplicates of labelled rows left out) → "
                    "[bold]{output}[/]").format(n=len(result.table), pool=result.pool, strategy=strategy,
                                                duplicates=result.excluded_duplicates, output=output))


def _write_table(table, path: Path) -> None:
    from domainfit.labelling.formats import write_table

    write_table(table, path)


@label_app.command("export")
def label_export(
    pool: Annotated[Path, typer.Argument(help="texts to pre-annotate (csv/tsv/jsonl/parquet/xlsx)")],
    output: Annotated[Path, Opt("-o", "--output", help="file to import into the tool")],
    bundle: Annotated[Path | None, Opt("--bundle", help="the model whose predictions pre-fill the labels")] = None,
    fmt: Annotated[str, Opt("--format", help="label-studio, argilla, doccano or csv")] = "label-studio",
    text: Annotated[str | None, Opt("--text", help="text column (inferred when unambiguous)")] = None,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """The pool with the model's predictions (entities as character spans) in a labelling tool's import format."""
    from domainfit.api import export_for_labelling
    from domainfit.cli.ui import console

    summary = export_for_labelling(pool, output, fmt=fmt, bundle=bundle, text_column=text)
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(_("{items} texts ({task}) in {format} format → {files}").format(
        items=summary["items"], task=summary["task"], format=fmt, files=", ".join(f"[bold]{f}[/]" for f in summary["files"])))


@label_app.command("import")
def label_import(
    files: Annotated[list[Path], typer.Argument(help="the tool's export(s); doccano: one file per annotator is fine")],
    output: Annotated[Path, Opt("-o", "--output", help="training table to write (csv, tsv, jsonl, xlsx; entities: .jsonl)")] = Path("labelled.csv"),
    fmt: Annotated[str | None, Opt("--format", help="label-studio, argilla, doccano or csv (default: from the file)")] = None,
    task: Annotated[str | None, Opt("--task", help="classification, multilabel or ner (default: from the annotations)")] = None,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
) -> None:
    """A labelling tool's export back to a training table: labels, annotator, time, majority vote and disagreements."""
    from domainfit.api import import_labels
    from domainfit.cli.ui import console

    summary = import_labels(files, output, fmt=fmt, task=task)
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    console.print(_("{annotations} annotations → {rows} rows ({task}; {disagreements} with annotators disagreeing) → "
                    "[bold]{output}[/]").format(annotations=summary["annotations"], rows=summary["rows"], task=summary["task"],
                                                disagreements=summary["disagreements"], output=summary["output"]))
