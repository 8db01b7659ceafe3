"""Terminal output: a rich Reporter (progress bars with ETA, event lines) and the tables the commands print."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from domainfit.training.loop import StepEvent

__all__ = ["RichReporter", "compact_where", "leaderboard_table", "comparison_table", "console", "issues_table", "predictions_table", "verdict"]

console = Console(stderr=False, highlight=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=False,
    )


class RichReporter:
    """Progress bars for embedding/evaluation and the training loop; one line per evaluation."""

    def __init__(self) -> None:
        self._train: Progress | None = None
        self._train_task = None

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        prog = _progress()
        prog.start()
        task = prog.add_task(description, total=total, info="")
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            prog.update(task, advance=n)
            if done[0] >= total:
                prog.stop()

        return advance

    def event(self, event: StepEvent) -> None:
        if self._train is None:
            self._train = _progress()
            self._train.start()
            self._train_task = self._train.add_task("training", total=event.total_steps, info="")
        prog = self._train
        if event.kind == "step":
            prog.update(self._train_task, completed=event.step,
                        info=f"epoch {event.epoch:.2f} loss {event.loss:.4f} lr {event.lr:.1e}")
        elif event.kind == "eval":
            shown = "  ".join(f"{k} {v:.4f}" for k, v in (event.metrics or {}).items() if isinstance(v, float))
            prog.console.print(f"  step {event.step}: validation {shown}  [dim]{event.message}[/dim]")
        elif event.kind == "stop":
            prog.console.print(f"  [yellow]{event.message}[/yellow]")
        elif event.kind == "done":
            prog.update(self._train_task, completed=event.total_steps if event.step >= event.total_steps else event.step)
            prog.stop()
            self._train = None
            if event.message:
                console.print(f"  {event.message} (best weights restored)")

    def log(self, message: str) -> None:
        style = "yellow" if message.startswith("[warning]") else "dim"
        console.print(message.replace("[warning]", "warning:"), style=style, markup=False)


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def comparison_table(rows: Sequence[dict], title: str = "test set: the model against its baselines", *,
                     keys: Sequence[str] = ("accuracy", "macro_f1", "weighted_f1"), primary: str = "macro_f1") -> Table:
    """The model and its baselines side by side on the task's headline metrics (`keys`); the best by `primary` in green."""
    from domainfit.evaluation._html import metric_name

    table = Table(title=title, title_justify="left")
    cols = ("name", *keys, "train_seconds")
    table.add_column("name", no_wrap=True)
    for col in cols[1:]:
        table.add_column("train s" if col == "train_seconds" else metric_name(col), justify="right")
    best = max((r.get(primary) or 0) for r in rows) if rows else 0
    for r in rows:
        style = "bold green" if r.get(primary) == best else None
        table.add_row(*(_fmt(r.get(c)) for c in cols), style=style)
    return table


def compact_where(where: Sequence[str], limit: int = 8) -> str:
    """["a/b.csv:row 4", "a/b.csv:row 9"] → "b.csv rows 4, 9" (file named once; the first `limit` places)."""
    by_file: dict[str, list[str]] = {}
    for loc in where:
        file, _, place = loc.rpartition(":")
        by_file.setdefault(file.rsplit("/", 1)[-1] if file else "", []).append(place or loc)
    parts, shown = [], 0
    for file, places in by_file.items():
        take = places[: max(0, limit - shown)]
        shown += len(take)
        if take:
            unit = take[0].split(" ")[0]
            nums = ", ".join(p.split(" ", 1)[-1] for p in take)
            parts.append(f"{file} {unit}{'s' if len(take) > 1 else ''} {nums}".strip())
    more = len(where) - shown
    return "; ".join(parts) + (f" and {more} more" if more > 0 else "")


def issues_table(issues: Sequence) -> Table:
    table = Table(title="data check", title_justify="left", show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("what", ratio=3)
    table.add_column("where", ratio=2)
    table.add_column("how to fix", ratio=3)
    colors = {"error": "red", "warning": "yellow", "info": "cyan"}
    for i in issues:
        table.add_row(f"[{colors.get(i.severity, 'white')}]{i.severity}[/]", i.code, i.message, compact_where(i.where) or "—",
                      i.hint or "")
    return table


def drift_table(report: dict) -> Table:
    """One row per drift check: what it compares, the effect size, the p-value and the status, coloured."""
    colors = {"ok": "green", "warn": "yellow", "alert": "red", "insufficient": "dim"}
    window = report["window"]
    table = Table(title=f"drift of {report['model']}: {report['live']['n']} predictions, {window['from']} → {window['to']}: "
                        f"[{colors.get(report['status'], 'white')}]{report['status']}[/]", title_justify="left")
    for name in ("check", "compares", "effect size", "p-value", "status"):
        table.add_column(name, justify="right" if name in ("effect size", "p-value") else "left")
    for c in report["checks"]:
        p = c["p_value"]
        table.add_row(c["name"], c["what"], f"{c['statistic']} {c['value']}" if c["value"] is not None else "—",
                      "—" if p is None else ("<0.0001" if p < 1e-4 else f"{p:.4f}"),
                      f"[{colors.get(c['status'], 'white')}]{c['status']}[/]")
    return table


def retrain_table(report: dict) -> Table:
    """Champion and challenger on the old test rows and the new ones (accuracy, macro-F1), the rows each is counted on."""
    rows = report["rows"]
    table = Table(title=f"champion vs challenger (replayed {rows['replayed']} of {rows['old_train']} old training rows + "
                        f"{rows['new_train']} new)", title_justify="left")
    for name in ("model", "old test: accuracy", "old: macro-F1", "new test: accuracy", "new: macro-F1"):
        table.add_column(name, justify="left" if name == "model" else "right")

    def pct(value) -> str:
        return "—" if value is None else f"{100 * value:.1f}"

    for name in ("champion", "challenger"):
        s = report["scores"][name]
        table.add_row(name, pct(s["old"]["accuracy"]), pct(s["old"]["macro_f1"]), pct(s["new"]["accuracy"]), pct(s["new"]["macro_f1"]))
    table.caption = f"old test: {rows['old_test']} rows; new test: {rows['new_test']} rows" + (
        f"; labels new to the champion: {', '.join(report['new_labels'])}" if report["new_labels"] else "")
    return table


def redaction_table(summary) -> Table:
    """What `data redact` replaced: one row per kind, a count per column, and where it was first found."""
    table = Table(title=f"redacted {summary.input}", title_justify="left")
    table.add_column("kind", no_wrap=True)
    for column in summary.columns:
        table.add_column(column, justify="right")
    table.add_column("first found at")
    for kind in summary.kinds:
        counts = [summary.counts.get(c, {}).get(kind, 0) for c in summary.columns]
        table.add_row(kind, *[str(n) for n in counts], compact_where(summary.examples.get(kind, [])) or "—")
    return table


def verdict(rows: Sequence[dict], primary: str = "macro_f1") -> str | None:
    """One sentence when a baseline beats the model: the user must not ship a model that loses to TF-IDF."""
    if len(rows) < 2:
        return None
    model, best = rows[0], max(rows[1:], key=lambda r: r.get(primary) or 0)
    gap = (best.get(primary) or 0) - (model.get(primary) or 0)
    if gap <= 0:
        return None
    from domainfit.evaluation._html import is_share, metric_name

    by = f"{100 * gap:.1f} points of {metric_name(primary)}" if is_share(primary) else f"{gap:.3f} of {metric_name(primary)}"
    return (f"[bold yellow]note:[/] {best['name']} beats {model['name']} by {by} on this test set; "
            "check the data warnings above (a backbone that does not cover the language?) before using this model")


def predictions_table(texts: Sequence[str], preds: Sequence[dict]) -> Table:
    """One row per text: the label(s) and score, and the runners-up (top_k, or the other labels' probabilities);
    only the text and the value for regression."""
    table = Table(title="predictions", title_justify="left")
    if any("entities" in p for p in preds):
        return _entities_table(table, texts, preds)
    labelled = any("label" in p for p in preds)
    table.add_column("text", overflow="fold", max_width=60)
    if labelled:
        table.add_column("label")
    table.add_column("score", justify="right")
    if labelled:
        table.add_column("runners-up", overflow="fold")
    for t, p in zip(texts, preds):
        if "answers" in p:  # retrieval: the answer given (or none), then the next answers of the top k
            label = p["answer"] if p["answer"] is not None else "(no good answer)"
            others = ", ".join(f"{a['answer']} {a['score']:.2f}" for a in p["answers"][1:])
        elif "labels" in p:  # multi-label: every label above its threshold
            label = ", ".join(p["labels"]) or "(none above threshold)"
            others = ", ".join(f"{k} {v:.2f}" for k, v in list(p["scores"].items())[:5] if k not in p["labels"])
        else:
            label = p.get("label", "")
            others = ", ".join(f"{x['label']} {x['score']:.2f}" for x in p.get("top_k", [])[1:])
        cells = (t, label, f"{p['score']:.3f}", others) if labelled else (t, f"{p['score']:.3f}")
        table.add_row(*cells)
    return table


def _entities_table(table: Table, texts: Sequence[str], preds: Sequence[dict]) -> Table:
    """Entity recognition: one row per text, its entities as `[type] words (score) @start-end`."""
    table.add_column("text", overflow="fold", max_width=60)
    table.add_column("entities", overflow="fold")
    for t, p in zip(texts, preds):
        found = "\n".join(f"[{e['label']}] {e['text']} ({e['score']:.2f}) @{e['start']}-{e['end']}" for e in p["entities"])
        table.add_row(t, found or "(none)")
    return table


def leaderboard_table(rows: Sequence[dict], metrics: Sequence[str] = ("accuracy", "macro_f1"),
                      unit: str = "examples per class") -> Table:
    table = Table(title=f"compare: the same test rows for every run (shots: {unit})", title_justify="left")
    cols = ("method", "shots", "seeds", *metrics, "train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")
    for c in cols:
        table.add_column(c.replace("_", " "), justify="left" if c in ("method", "shots") else "right")
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c in metrics and v is not None:
                std = r.get(f"{c}_std") or 0
                cells.append(f"{100 * v:.2f}" + (f" ± {100 * std:.2f}" if std else ""))
            elif c == "trainable_parameters" and v is not None:
                cells.append(f"{int(v):,}")
            else:
                cells.append(_fmt(v))
        table.add_row(*cells)
    return table
