"""Pre-annotations out to labelling tools and their annotations back: Label Studio JSON, Argilla records, doccano
JSONL and a plain CSV, each a registered format.

The shapes are the ones the tools document: Label Studio's task list (`data`, `predictions` / `annotations` with
`result` items of type `choices` or `labels`, `completed_by`, `created_at`); Argilla 2's `Record.to_dict()`
(`fields`, `suggestions` {question: {value, score, agent}}, `responses` {question: [{value, user_id}]}; spans as
{start, end, label}); doccano's JSONL (`text`, `label`: a list of classes or of [start, end, label] triples; one
file per annotator when it exports without collaboration). Offsets are Python characters (code points), except
Label Studio's, which count UTF-16 units as its browser front end does: converted both ways here, so a Chinese text
with a character outside the Basic Multilingual Plane keeps its spans exact.

Written by hand: these converters and the majority vote (each format is a few dicts; no library reads all four).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from domainfit.errors import DataError
from domainfit.i18n import _
from domainfit.registry import Registry

__all__ = ["Annotation", "Item", "formats", "majority_vote", "read_annotations", "write_items", "write_table"]

formats: Registry = Registry("labelling format", "domainfit.labelling.formats", listing="formats")
AGENT = "domainfit"


@dataclass
class Item:
    """One text to label with the model's pre-annotation: `labels` (classes; several for multi-label) and `score`,
    or `entities` ({start, end, label, score}, Python character offsets into `text`)."""

    id: str
    text: str
    labels: list[str] = field(default_factory=list)
    score: float | None = None
    entities: list[dict] = field(default_factory=list)


@dataclass
class Annotation:
    """One annotator's answer for one item (from a tool's export)."""

    item: str  # the exported id, or the text when the tool lost it
    text: str
    labels: list[str]
    entities: list[tuple[int, int, str]]
    annotator: str
    time: str


# ---------------------------------------------------------------- small helpers

def _utf16(text: str, i: int) -> int:
    """Python offset -> UTF-16 offset (what JavaScript counts)."""
    return len(text[:i].encode("utf-16-le")) // 2


def _from_utf16(text: str, j: int) -> int:
    units = 0
    for i, ch in enumerate(text):
        if units >= j:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def _load_json(path: Path, expect: str):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(_("not UTF-8 text (byte {byte})").format(byte=exc.start), where=str(path),
                        hint=_("export the {expect} file again as UTF-8 JSON").format(expect=expect)) from None
    except json.JSONDecodeError as exc:
        raise DataError(_("not valid JSON: {error}").format(error=exc.msg), where=f"{path}:line {exc.lineno}:column {exc.colno}",
                        hint=_("pass the JSON file {expect} exports, unchanged").format(expect=expect)) from None


def _jsonl(path: Path, expect: str) -> list[tuple[int, dict]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(_("not UTF-8 text (byte {byte})").format(byte=exc.start), where=str(path),
                        hint=_("export the {expect} file again").format(expect=expect)) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(_("not a JSON object: {error}").format(error=exc.msg), where=f"{path}:line {n}",
                            hint=_("each line of a {expect} JSONL export is one JSON object").format(expect=expect)) from None
        if not isinstance(rec, dict):
            raise DataError(_("not a JSON object"), where=f"{path}:line {n}",
                            hint=_("each line of a {expect} JSONL export is one JSON object").format(expect=expect))
        out.append((n, rec))
    return out


def _need(rec: dict, key: str, where: str, expect: str):
    if key not in rec:
        raise DataError(_("no {key} in the record (it has {keys})").format(key=repr(key), keys=sorted(rec)[:8]), where=where,
                        hint=_("pass a {expect} export, or name its format with --format").format(expect=expect))
    return rec[key]


def _str_list(value) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# ---------------------------------------------------------------- Label Studio

@formats.register("label-studio")
class LabelStudio:
    """A JSON list of tasks; classes as a `choices` result, entities as `labels` results (offsets in UTF-16 units)."""

    suffix = ".json"

    @staticmethod
    def write(items: Sequence[Item], path: Path, task: str, model: str) -> list[Path]:
        kind, name = ("labels", "label") if task == "ner" else ("choices", "label")
        tasks = []
        for it in items:
            if task == "ner":
                result = [{"from_name": name, "to_name": "text", "type": kind,
                           "value": {"start": _utf16(it.text, e["start"]), "end": _utf16(it.text, e["end"]),
                                     "text": it.text[e["start"]:e["end"]], "labels": [e["label"]]},
                           **({"score": e["score"]} if e.get("score") is not None else {})} for e in it.entities]
            else:
                result = [{"from_name": name, "to_name": "text", "type": kind, "value": {"choices": it.labels}}] if it.labels else []
            pred = [{"model_version": model, "score": it.score, "result": result}] if result or it.score is not None else []
            tasks.append({"data": {"text": it.text, "domainfit_id": it.id}, "predictions": pred})
        path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
        return [path]

    @staticmethod
    def config(labels: Sequence[str], task: str) -> str:
        """The labelling interface to paste into the project's settings (matches from_name/to_name above)."""
        from xml.sax.saxutils import quoteattr

        tag, inner = ("Labels", "Label") if task == "ner" else ("Choices", "Choice")
        extra = ' choice="multiple"' if task == "multilabel" else ""
        values = "".join(f"\n    <{inner} value={quoteattr(v)}/>" for v in labels)
        return f'<View>\n  <Text name="text" value="$text"/>\n  <{tag} name="label" toName="text"{extra}>{values}\n  </{tag}>\n</View>\n'

    @staticmethod
    def read(path: Path) -> list[Annotation]:
        tasks = _load_json(path, "Label Studio")
        if not isinstance(tasks, list):
            raise DataError(_("a Label Studio export is a JSON list of tasks"), where=str(path),
                            hint=_("export the project as JSON (not JSON-MIN or CSV)"))
        out = []
        for n, t in enumerate(tasks, 1):
            where = f"{path}:task {n}"
            if not isinstance(t, dict):
                raise DataError(_("a task is not a JSON object"), where=where, hint=_("export the project as JSON"))
            data = _need(t, "data", where, "Label Studio")
            text = str(_need(data, "text", where, "Label Studio"))
            item = str(data.get("domainfit_id", text))
            for a in t.get("annotations") or []:
                if a.get("was_cancelled"):
                    continue
                labels, entities = [], []
                for r in a.get("result") or []:
                    v = r.get("value") or {}
                    if "choices" in v:
                        labels += _str_list(v["choices"])
                    elif "start" in v and "end" in v:
                        s, e = _from_utf16(text, int(v["start"])), _from_utf16(text, int(v["end"]))
                        entities += [(s, e, lab) for lab in _str_list(v.get("labels"))]
                who = a.get("completed_by")
                who = (who.get("email") or who.get("username") or who.get("id")) if isinstance(who, dict) else (
                    a.get("created_username") or (f"user {who}" if who is not None else "unknown"))
                out.append(Annotation(item, text, labels, entities, str(who), str(a.get("updated_at") or a.get("created_at") or "")))
        return out


# ---------------------------------------------------------------- Argilla

@formats.register("argilla")
class Argilla:
    """A JSON list of Argilla 2 records (`Record.to_dict()`; `dataset.records.to_json`); the question is `label`
    (classes; a list for multi-label) or `spans` (entities)."""

    suffix = ".json"

    @staticmethod
    def write(items: Sequence[Item], path: Path, task: str, model: str) -> list[Path]:
        records = []
        for it in items:
            if task == "ner":
                sugg = {"spans": {"value": [{"start": e["start"], "end": e["end"], "label": e["label"]} for e in it.entities],
                                  "score": None, "agent": model}}
            elif it.labels:
                sugg = {"label": {"value": it.labels if task == "multilabel" else it.labels[0], "score": it.score, "agent": model}}
            else:
                sugg = {}
            records.append({"id": it.id, "fields": {"text": it.text}, "metadata": {}, "suggestions": sugg, "responses": {},
                            "vectors": {}, "_server_id": None})
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        return [path]

    @staticmethod
    def read(path: Path) -> list[Annotation]:
        records = _load_json(path, "Argilla")
        if isinstance(records, dict) and isinstance(records.get("records"), list):
            records = records["records"]
        if not isinstance(records, list):
            raise DataError(_("an Argilla export is a JSON list of records"), where=str(path),
                            hint=_("export with dataset.records.to_json(path)"))
        out = []
        for n, r in enumerate(records, 1):
            where = f"{path}:record {n}"
            fields = _need(r, "fields", where, "Argilla")
            text = str(_need(fields, "text", where, "Argilla"))
            item = str(r.get("id") or text)
            for question, answers in (r.get("responses") or {}).items():
                for a in answers:
                    value = a.get("value")
                    labels, entities = [], []
                    if question == "spans" or (isinstance(value, list) and value and isinstance(value[0], dict)):
                        entities = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in value or []]
                    else:
                        labels = _str_list(value)
                    out.append(Annotation(item, text, labels, entities, str(a.get("user_id") or "unknown"),
                                          str(a.get("updated_at") or a.get("inserted_at") or "")))
        return out


# ---------------------------------------------------------------- doccano

@formats.register("doccano")
class Doccano:
    """JSONL: {"text", "label": ["class", ...]} or {"text", "label": [[start, end, "TYPE"], ...]}; doccano imports the
    labels as annotations to correct. Its export may hold one file per annotator (the file name is then the user)."""

    suffix = ".jsonl"

    @staticmethod
    def write(items: Sequence[Item], path: Path, task: str, model: str) -> list[Path]:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for it in items:
                label = [[e["start"], e["end"], e["label"]] for e in it.entities] if task == "ner" else it.labels
                fh.write(json.dumps({"text": it.text, "label": label, "domainfit_id": it.id}, ensure_ascii=False) + "\n")
        return [path]

    @staticmethod
    def read(path: Path) -> list[Annotation]:
        out = []
        for n, rec in _jsonl(path, "doccano"):
            where = f"{path}:line {n}"
            text = str(_need(rec, "text", where, "doccano"))
            item = str(rec.get("domainfit_id") or text)
            raw = rec.get("label", rec.get("entities", []))
            labels, entities = [], []
            for v in raw if isinstance(raw, list) else [raw]:
                if isinstance(v, list) and len(v) == 3:
                    entities.append((int(v[0]), int(v[1]), str(v[2])))
                elif isinstance(v, dict) and "start_offset" in v:  # the JSONL(relation) export
                    entities.append((int(v["start_offset"]), int(v["end_offset"]), str(v["label"])))
                elif v is not None:
                    labels.append(str(v))
            who = rec.get("annotator") or rec.get("user") or rec.get("username") or path.stem
            out.append(Annotation(item, text, labels, entities, str(who), str(rec.get("updated_at") or rec.get("created_at") or "")))
        return out


# ---------------------------------------------------------------- CSV

@formats.register("csv")
class Csv:
    """id, text, predicted, score, label (pre-filled with the prediction, to correct), annotator, time; entities as a
    JSON list of {start, end, label} in the `entities` column."""

    suffix = ".csv"

    @staticmethod
    def write(items: Sequence[Item], path: Path, task: str, model: str) -> list[Path]:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            if task == "ner":
                w.writerow(["id", "text", "entities", "annotator", "time"])
                for it in items:
                    spans = [{"start": e["start"], "end": e["end"], "label": e["label"]} for e in it.entities]
                    w.writerow([it.id, it.text, json.dumps(spans, ensure_ascii=False), "", ""])
            else:
                w.writerow(["id", "text", "predicted", "score", "label", "annotator", "time"])
                for it in items:
                    joined = ";".join(it.labels)
                    w.writerow([it.id, it.text, joined, "" if it.score is None else f"{it.score:.4f}", joined, "", ""])
        return [path]

    @staticmethod
    def read(path: Path) -> list[Annotation]:
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except UnicodeDecodeError as exc:
            raise DataError(_("not UTF-8 text (byte {byte})").format(byte=exc.start), where=str(path),
                            hint=_("save the CSV as UTF-8")) from None
        except csv.Error as exc:
            raise DataError(_("not a readable CSV: {error}").format(error=exc), where=str(path),
                            hint=_("save the sheet as CSV (UTF-8)")) from None
        out = []
        for n, r in enumerate(rows, 2):
            where = f"{path}:row {n}"
            text = _need(r, "text", where, "CSV")
            if r.get("entities") not in (None, ""):
                try:
                    spans = json.loads(r["entities"])
                    entities = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in spans]
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    raise DataError(_("the entities cell is not a JSON list of {start, end, label}"), where=f"{where}:column entities",
                                    hint=_('write e.g. [{"start": 0, "end": 4, "label": "ORG"}]')) from None
                labels = []
            else:
                entities = []
                labels = [x.strip() for x in str(r.get("label") or "").split(";") if x.strip()]
                if "entities" not in r and not labels:
                    continue  # a row nobody labelled yet
            out.append(Annotation(str(r.get("id") or text), text, labels, entities, str(r.get("annotator") or "unknown"),
                                  str(r.get("time") or "")))
        return out


# ---------------------------------------------------------------- the two directions

def write_items(items: Sequence[Item], path: str | Path, fmt: str, *, task: str, model: str = AGENT,
                labels: Sequence[str] = ()) -> list[Path]:
    """Write the pre-annotated items in `fmt`; Label Studio also gets its labelling config beside the file."""
    if fmt not in formats:
        raise DataError(formats.unknown_message(fmt), where="--format",
                        hint=_("use one of {names}").format(names=", ".join(formats.names())))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = formats.get(fmt).write(items, path, task, model)
    if fmt == "label-studio" and labels:
        config = path.with_suffix(".config.xml")
        config.write_text(LabelStudio.config(labels, task), encoding="utf-8")
        written.append(config)
    return written


def sniff_format(path: Path) -> str:
    """The format of an export, from its extension and first record."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "doccano"
    if suffix == ".json":
        data = _load_json(path, _("labelling tool"))
        first = data[0] if isinstance(data, list) and data else (data.get("records", [{}])[0] if isinstance(data, dict) and data.get("records") else None)
        if isinstance(first, dict) and "data" in first:
            return "label-studio"
        if isinstance(first, dict) and "fields" in first:
            return "argilla"
        raise DataError(_("cannot tell which tool wrote this JSON: no Label Studio task (\"data\") or Argilla record (\"fields\")"),
                        where=str(path), hint=_("name the format with --format ({names})").format(names=", ".join(formats.names())))
    raise DataError(_("cannot tell the format of a {suffix}").format(suffix=suffix or _("file without extension")), where=str(path),
                    hint=_("name it with --format ({names})").format(names=", ".join(formats.names())))


def read_annotations(paths: Sequence[str | Path], fmt: str | None = None) -> list[Annotation]:
    out = []
    for p in map(Path, paths):
        if not p.is_file():
            raise DataError(_("file not found: {path}").format(path=p.resolve()), where=str(p),
                            hint=_("pass the file the labelling tool exported"))
        name = fmt or sniff_format(p)
        if name not in formats:
            raise DataError(formats.unknown_message(name), where="--format",
                            hint=_("use one of {names}").format(names=", ".join(formats.names())))
        out += formats.get(name).read(p)
    return out


def majority_vote(annotations: Sequence[Annotation], task: str) -> pd.DataFrame:
    """One row per item: the majority label (or, for several labels and entities, each label or span a majority of
    annotators gave), the annotators, the latest time, how many agreed and, where they differ, who said what."""
    groups: dict[str, list[Annotation]] = {}
    for a in annotations:
        groups.setdefault(a.item, []).append(a)
    rows = []
    for item, answers in groups.items():
        # the last answer of each annotator counts (a tool may export an edit as a second answer)
        by_who = {a.annotator: a for a in sorted(answers, key=lambda a: a.time)}
        votes = list(by_who.values())
        n = len(votes)
        if task == "ner":
            keys = [tuple(sorted(set(a.entities))) for a in votes]
            counts = Counter(span for k in keys for span in k)
            winner = tuple(sorted(s for s, c in counts.items() if c * 2 > n)) if n > 1 else keys[0]
        elif task == "multilabel":
            keys = [tuple(sorted(set(a.labels))) for a in votes]
            counts = Counter(lab for k in keys for lab in k)
            winner = tuple(sorted(lab for lab, c in counts.items() if c * 2 > n)) if n > 1 else keys[0]
        else:
            keys = [tuple(a.labels[:1]) for a in votes]
            ranked = Counter(keys).most_common()
            best = ranked[0][1]
            winner = min(k for k, c in ranked if c == best)  # a tie: the alphabetically first label, said in the column
        agree = sum(k == winner for k in keys)
        text = votes[0].text
        row = {"id": item, "text": text}
        if task == "ner":
            row["entities"] = [{"start": s, "end": e, "label": lab} for s, e, lab in winner]
        else:
            row["label"] = ";".join(winner)
        row.update({"annotator": ",".join(sorted(by_who)), "time": max(a.time for a in votes), "annotators": n,
                    "agreement": round(agree / n, 3),
                    "disagreement": "" if len(set(keys)) == 1 else "; ".join(
                        f"{a.annotator}={_show(k, task)}" for a, k in zip(votes, keys))})
        rows.append(row)
    return pd.DataFrame(rows)


def _show(key: tuple, task: str) -> str:
    if task == "ner":
        return "[" + ",".join(f"{s}-{e}:{lab}" for s, e, lab in key) + "]"
    return ";".join(key) or "(none)"


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """A table as CSV (UTF-8), JSON Lines or xlsx by the extension; texts exactly as they are."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(json.dumps(rec, ensure_ascii=False, default=str) + "\n" for rec in table.to_dict(orient="records"))
    elif suffix == ".xlsx":
        table.to_excel(path, index=False)
    elif suffix in (".csv", ".tsv", ".txt", ""):
        table.to_csv(path, index=False, encoding="utf-8", sep="\t" if suffix == ".tsv" else ",")
    else:
        raise DataError(_("cannot write a {suffix} table").format(suffix=suffix), where=str(path),
                        hint=_("use .csv, .tsv, .jsonl or .xlsx"))
    return path
