"""Terminal output: a rich Reporter (progress bars with ETA, event lines), a status line for slow steps, and the tables
the commands print.

Tables are laid out for the width they are printed at (80 columns when the output is piped or not a terminal): the
names and headline numbers are always shown whole, free text wraps between words, and the least useful columns are
left out, named in the caption, when the rest would not fit. Rich would otherwise cut every cell to "…" alike. The
layout (`fitted_table`) is written by hand: rich sizes columns but does not choose which to keep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.status import Status
from rich.table import Table
from rich.text import Text

from domainfit.i18n import _
from domainfit.training.loop import StepEvent

__all__ = ["Col", "FittedTable", "RichReporter", "bench_table", "compact_where", "comparison_table", "console", "drift_table", "err_console",
           "fitted_table", "issues_table", "leaderboard_table", "predictions_table", "verdict", "working"]

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)  # status lines: stdout stays clean for what a command prints


def working(message: str, *, on: Console | None = None) -> Status:
    """A spinner with `message` on stderr while a slow step runs (`with working("loading ..."):`); it draws only on a
    terminal and leaves nothing behind, so piped or redirected output is untouched."""
    return (on or err_console).status(message, spinner="dots")


@dataclass(frozen=True)
class Col:
    """A column of a `fitted_table`. `drop`: None for one always shown whole (a name, a headline number); a rank for
    one that may be left out when the table is too wide, the highest rank first. `wrap`: free text, wrapped between
    words into the width left, never narrower than `min_width` (or its longest word, up to 30) nor wider than
    `max_width`."""

    header: str
    justify: str = "right"
    drop: int | None = None
    wrap: bool = False
    min_width: int = 10
    max_width: int | None = None


def _plain(cell) -> str:
    if isinstance(cell, Text):
        return cell.plain
    try:
        return Text.from_markup(str(cell)).plain
    except MarkupError:
        return str(cell)


def _extent(text: str) -> tuple[int, int]:
    """(widest line, longest word) as printed: wide characters (CJK) count two."""
    lines = text.split("\n")
    return max(cell_len(line) for line in lines), max((cell_len(w) for w in text.split()), default=0)


def _layout(cols: Sequence[Col], rows: Sequence[Sequence], width: int) -> tuple[list[int], list[int]]:
    """(the columns kept, their widths) for a table `width` cells wide: a fixed column is as wide as its widest cell
    (its header may wrap), a wrap column gets at least its minimum; columns are left out, highest `drop` rank first,
    until the minimums fit; what is left over widens the columns towards their natural width, evenly."""
    lows, highs = [], []
    for i, col in enumerate(cols):
        cells = [_extent(_plain(r[i])) for r in rows] or [(0, 0)]
        head_line, head_word = _extent(col.header)
        widest, longest_word = max(c[0] for c in cells), max(c[1] for c in cells)
        if col.wrap:
            high = max(widest, head_word, 1)
            high = min(high, col.max_width) if col.max_width else high
            low = min(high, max(col.min_width, min(longest_word, 30), head_word))
        else:
            low, high = max(widest, head_word, 1), max(widest, head_line, 1)
        lows.append(low)
        highs.append(high)
    kept = list(range(len(cols)))

    def total(widths) -> int:  # each column's padding (2) and the borders between and around them
        return sum(w + 2 for w in widths) + len(widths) + 1

    droppable = sorted((i for i, c in enumerate(cols) if c.drop is not None), key=lambda i: (-cols[i].drop, -i))
    while total([lows[i] for i in kept]) > width and droppable:
        kept.remove(droppable.pop(0))
    widths = {i: lows[i] for i in kept}
    spare = width - total(widths.values())
    while spare > 0:
        growing = [i for i in kept if widths[i] < highs[i]]
        if not growing:
            break
        for i in growing[:spare]:
            widths[i] += 1
        spare -= min(spare, len(growing))
    return kept, [widths[i] for i in kept]


class FittedTable:
    """A table that lays itself out for the width it is printed at (see the module docstring): print it like any rich
    renderable, or get the rich `Table` for a given width with `table(width)`."""

    def __init__(self, title: str, cols: Sequence[Col], rows: Sequence[Sequence], *, width: int | None = None,
                 styles: Sequence[str | None] | None = None, caption: str | None = None, elsewhere: str = "") -> None:
        self.title, self.cols, self.rows, self.width = title, list(cols), [list(r) for r in rows], width
        self.styles, self.caption, self.elsewhere = styles, caption, elsewhere

    def table(self, width: int) -> Table:
        kept, widths = _layout(self.cols, self.rows, width)
        left_out = [c.header for i, c in enumerate(self.cols) if i not in kept]
        notes = [self.caption] if self.caption else []
        if left_out:
            notes.append(_("left out to fit {width} columns: {columns}").format(width=width, columns=", ".join(left_out))
                         + (f" ({self.elsewhere})" if self.elsewhere else ""))
        table = Table(title=self.title, title_justify="left", caption="\n".join(notes) or None, caption_justify="left")
        for i, w in zip(kept, widths):
            col = self.cols[i]
            table.add_column(col.header, justify="left" if col.wrap else col.justify, width=w, overflow="fold")
        for n, row in enumerate(self.rows):
            table.add_row(*(row[i] for i in kept), style=self.styles[n] if self.styles else None)
        return table

    def __rich_console__(self, console: Console, options):
        yield self.table(self.width or options.max_width)


def fitted_table(title: str, cols: Sequence[Col], rows: Sequence[Sequence], *, width: int | None = None,
                 styles: Sequence[str | None] | None = None, caption: str | None = None, elsewhere: str = "") -> FittedTable:
    """A table laid out for `width` (default: the width it is printed at, 80 when output is piped): see the module
    docstring. `elsewhere` says where the columns left out can be read (e.g. "all columns: variants/bench.md")."""
    return FittedTable(title, cols, rows, width=width, styles=styles, caption=caption, elsewhere=elsewhere)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn(_("ETA")), TimeRemainingColumn(),
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
            self._train_task = self._train.add_task(_("training"), total=event.total_steps, info="")
        prog = self._train
        if event.kind == "step":
            prog.update(self._train_task, completed=event.step,
                        info=_("epoch {epoch} loss {loss} lr {lr}").format(epoch=f"{event.epoch:.2f}", loss=f"{event.loss:.4f}", lr=f"{event.lr:.1e}"))
        elif event.kind == "eval":
            shown = "  ".join(f"{k} {v:.4f}" for k, v in (event.metrics or {}).items() if isinstance(v, float))
            prog.console.print("  " + _("step {step}: validation {metrics}").format(step=event.step, metrics=shown) + f"  [dim]{event.message}[/dim]")
        elif event.kind == "stop":
            prog.console.print(f"  [yellow]{event.message}[/yellow]")
        elif event.kind == "done":
            prog.update(self._train_task, completed=event.total_steps if event.step >= event.total_steps else event.step)
            prog.stop()
            self._train = None
            if event.message:
                console.print(f"  {event.message} " + _("(best weights restored)"))

    def log(self, message: str) -> None:
        style = "yellow" if message.startswith("[warning]") else "dim"
        # soft wrap: a long line (a path) is never broken by a newline, so it can be copied or grepped whole
        shown = message.replace("[warning]", _("warning") + ":")
        if shown.startswith("[note] ") and _("note") != "note":  # English keeps the marker as it always printed it
            shown = _("note") + "：" + shown.removeprefix("[note] ")
        console.print(shown, style=style, markup=False, soft_wrap=True)


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def comparison_table(rows: Sequence[dict], title: str | None = None, *,
                     keys: Sequence[str] = ("accuracy", "macro_f1", "weighted_f1"), primary: str = "macro_f1",
                     width: int | None = None) -> FittedTable:
    """The model and its baselines side by side on the task's headline metrics (`keys`); the best by `primary` in green.
    On a narrow terminal the later metrics and the training time are left out before any name or number is cut."""
    from domainfit.evaluation._html import metric_name

    title = title or _("test set: the model against its baselines")
    cols = ("name", *keys, "train_seconds")
    spec = [Col(_("name"), justify="left"),
            *(Col(metric_name(k), drop=None if k in (primary, keys[0]) else 1 + j) for j, k in enumerate(keys)),
            Col(_("train s"), drop=len(keys) + 1)]
    best = max((r.get(primary) or 0) for r in rows) if rows else 0
    return fitted_table(title, spec, [[escape(_fmt(r.get(c))) for c in cols] for r in rows], width=width,
                        styles=["bold green" if r.get(primary) == best else None for r in rows], elsewhere=_("all in metrics.json"))


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


def _severity(name: str) -> str:
    return {"error": _("error"), "warning": _("warning"), "info": _("info")}.get(name, name)


def issues_table(issues: Sequence) -> Table:
    table = Table(title=_("data check"), title_justify="left", show_lines=True, expand=True)
    table.add_column(_("severity"), no_wrap=True)
    table.add_column(_("check"), no_wrap=True)
    table.add_column(_("what"), ratio=3)
    table.add_column(_("where"), ratio=2)
    table.add_column(_("how to fix"), ratio=3)
    colors = {"error": "red", "warning": "yellow", "info": "cyan"}
    for i in issues:
        table.add_row(f"[{colors.get(i.severity, 'white')}]{_severity(i.severity)}[/]", i.code, i.message, compact_where(i.where) or "—",
                      i.hint or "")
    return table


def drift_table(report: dict, *, width: int | None = None) -> FittedTable:
    """One row per drift check: what it compares, the effect size, the p-value and the status, coloured."""
    colors = {"ok": "green", "warn": "yellow", "alert": "red", "insufficient": "dim"}
    window = report["window"]
    title = (_("drift of {model}: {n} predictions, {start} → {end}").format(
        model=escape(str(report["model"])), n=report["live"]["n"], start=window["from"], end=window["to"])
             + f": [{colors.get(report['status'], 'white')}]{report['status']}[/]")
    spec = [Col(_("check"), justify="left"), Col(_("compares"), wrap=True, min_width=16), Col(_("effect size")),
            Col(_("p-value")), Col(_("status"), justify="left")]
    rows = []
    for c in report["checks"]:
        p = c["p_value"]
        rows.append([c["name"], c["what"], f"{c['statistic']} {c['value']}" if c["value"] is not None else "—",
                     "—" if p is None else ("<0.0001" if p < 1e-4 else f"{p:.4f}"),
                     f"[{colors.get(c['status'], 'white')}]{c['status']}[/]"])
    return fitted_table(title, spec, rows, width=width)


def bench_table(result: dict, *, width: int | None = None) -> FittedTable:
    """`domainfit bench`: one row per variant. The name, the batch-32 speed and the headline metric with its change are
    always shown whole; on a narrow terminal the bound, its share and the load time go first (all in bench.md)."""
    metric = result["variants"][0].get("metric", "accuracy") if result["variants"] else "accuracy"
    spec = [Col(_("variant"), justify="left"), Col("MB", drop=2), Col(_("load s"), drop=5), Col(_("sent/s b1"), drop=3),
            Col(_("sent/s b32")), Col(_("p95 ms b1"), drop=4), Col(metric), Col(_("Δ pts")),
            Col(_("same alone"), drop=8), Col(_("bound/s"), drop=6), Col(_("of bound"), drop=7)]
    keys = ("variant", "size_mb", "load_s", "sentences_per_s_batch1", "sentences_per_s_batch32", "p95_ms_batch1", "accuracy",
            "accuracy_delta_points", "batch_agreement", "bound_sentences_per_s", "share_of_bound")

    def shown(r: dict, k: str) -> str:
        if k == "accuracy":
            return f"{100 * r[k]:.2f}%"
        if k == "accuracy_delta_points":
            return f"{r[k]:+.2f}"
        if k == "batch_agreement":  # the gate's share of decisions the same scored alone as in a batch
            return "—" if r.get(k) is None else f"{100 * r[k]:.1f}%"
        return str(r.get(k, "—"))

    rows = [[shown(r, k) for k in keys] for r in result["variants"]]
    return fitted_table(_("{rows} test sentences, mean {tokens} tokens, {threads} threads").format(
        rows=result["test_rows"], tokens=result["mean_tokens"], threads=result["threads"]),
                        spec, rows, width=width, elsewhere=_("all columns: {file}").format(file="variants/bench.md"))


def retrain_table(report: dict) -> Table:
    """Champion and challenger on the old test rows and the new ones (accuracy, macro-F1), the rows each is counted on."""
    rows = report["rows"]
    table = Table(title=_("champion vs challenger (replayed {replayed} of {old} old training rows + {new} new)").format(
        replayed=rows["replayed"], old=rows["old_train"], new=rows["new_train"]), title_justify="left")
    for name in (_("model"), _("old test: accuracy"), _("old: macro-F1"), _("new test: accuracy"), _("new: macro-F1")):
        table.add_column(name, justify="left" if name == _("model") else "right")

    def pct(value) -> str:
        return "—" if value is None else f"{100 * value:.1f}"

    for name, shown in (("champion", _("champion")), ("challenger", _("challenger"))):
        s = report["scores"][name]
        table.add_row(shown, pct(s["old"]["accuracy"]), pct(s["old"]["macro_f1"]), pct(s["new"]["accuracy"]), pct(s["new"]["macro_f1"]))
    table.caption = _("old test: {old} rows; new test: {new} rows").format(old=rows["old_test"], new=rows["new_test"]) + (
        "; " + _("labels new to the champion: {labels}").format(labels=", ".join(report["new_labels"])) if report["new_labels"] else "")
    return table


def redaction_table(summary) -> Table:
    """What `data redact` replaced: one row per kind, a count per column, and where it was first found."""
    table = Table(title=_("redacted {file}").format(file=summary.input), title_justify="left")
    table.add_column(_("kind"), no_wrap=True)
    for column in summary.columns:
        table.add_column(column, justify="right")
    table.add_column(_("first found at"))
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

    by = (_("{points} points of {metric}").format(points=f"{100 * gap:.1f}", metric=metric_name(primary)) if is_share(primary)
          else _("{amount} of {metric}").format(amount=f"{gap:.3f}", metric=metric_name(primary)))
    return _("[bold yellow]note:[/] {baseline} beats {model} by {by} on this test set; check the data warnings above "
             "(a backbone that does not cover the language?) before using this model").format(
        baseline=best["name"], model=model["name"], by=by)


def predictions_table(texts: Sequence[str], preds: Sequence[dict], *, width: int | None = None) -> FittedTable:
    """One row per text: the label(s) and score, and the runners-up (top_k, or the other labels' probabilities);
    only the text and the value for regression. The texts and runners-up wrap; a label is never cut."""
    if any("entities" in p for p in preds):
        return _entities_table(texts, preds, width)
    labelled = any("label" in p for p in preds)
    spec = [Col(_("text"), wrap=True, min_width=16, max_width=60)]
    spec += [Col(_("label"), wrap=True, min_width=8)] if labelled else []
    spec += [Col(_("score"))]
    spec += [Col(_("runners-up"), wrap=True, min_width=12)] if labelled else []
    rows = []
    for t, p in zip(texts, preds):
        if "answers" in p:  # retrieval: the answer given (or none), then the next answers of the top k
            label = p["answer"] if p["answer"] is not None else _("(no good answer)")
            others = ", ".join(f"{a['answer']} {a['score']:.2f}" for a in p["answers"][1:])
        elif "labels" in p:  # multi-label: every label above its threshold
            label = ", ".join(p["labels"]) or _("(none above threshold)")
            others = ", ".join(f"{k} {v:.2f}" for k, v in list(p["scores"].items())[:5] if k not in p["labels"])
        else:
            label = p.get("label", "")
            others = ", ".join(f"{x['label']} {x['score']:.2f}" for x in p.get("top_k", [])[1:])
            if p.get("out_of_scope"):  # the out-of-scope detector's verdict, beside the label it leaves (flag) or replaces
                label = f"{label} (" + _("out of scope: {score} > {threshold}").format(
                    score=f"{p['ood_score']:.3g}", threshold=f"{p['ood_threshold']:.3g}") + ")"
        t, label, others = escape(str(t)), escape(str(label)), escape(others)  # user text, not markup
        rows.append([t, label, f"{p['score']:.3f}", others] if labelled else [t, f"{p['score']:.3f}"])
    return fitted_table(_("predictions"), spec, rows, width=width)


def _entities_table(texts: Sequence[str], preds: Sequence[dict], width: int | None = None) -> FittedTable:
    """Entity recognition: one row per text, its entities as `[type] words (score) @start-end`."""
    rows = []
    for t, p in zip(texts, preds):
        found = "\n".join(f"[{e['label']}] {e['text']} ({e['score']:.2f}) @{e['start']}-{e['end']}" for e in p["entities"])
        rows.append([escape(str(t)), escape(found) or _("(none)")])
    return fitted_table(_("predictions"), [Col(_("text"), wrap=True, min_width=16, max_width=60), Col(_("entities"), wrap=True, min_width=16)],
                        rows, width=width)


def leaderboard_table(rows: Sequence[dict], metrics: Sequence[str] = ("accuracy", "macro_f1"),
                      unit: str = "examples per class", *, width: int | None = None) -> FittedTable:
    """One row per method and budget: its metrics (mean ± std over seeds) whole; on a narrow terminal the cost columns
    (parameters, size, speed, training time, seeds) are left out first."""
    cols = ("method", "shots", "seeds", *metrics, "train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")
    ranks = {"seeds": 1, "train_seconds": 2, "texts_per_s": 3, "bundle_mb": 4, "trainable_parameters": 5}
    headings = {"method": _("method"), "shots": _("shots"), "seeds": _("seeds"), "train_seconds": _("train seconds"),
                "texts_per_s": _("texts per s"), "trainable_parameters": _("trainable parameters"), "bundle_mb": _("bundle mb")}
    spec = [Col(headings.get(c, c.replace("_", " ")), justify="left" if c in ("method", "shots") else "right", drop=ranks.get(c))
            for c in cols]
    table_rows = []
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
        table_rows.append(cells)
    return fitted_table(_("compare: the same test rows for every run (shots: {unit})").format(unit=unit), spec, table_rows,
                        width=width, elsewhere=_("all in {file}").format(file="leaderboard.csv"))
