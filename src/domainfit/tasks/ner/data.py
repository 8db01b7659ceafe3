"""Entity data for training, evaluation and `data check`: read the files, leave out the sentences that cannot be
trusted, split, and report every finding with file:line (the entity counterpart of domainfit.data.prepare).

A problem the reader found inside a kept sentence (a bad tag, an I- tag without its B- when `repair_tags` is off,
an entity span out of range or overlapping another) leaves that sentence out when it is an error: its labels
would teach the model something wrong. A line or record the reader skipped is reported as it is. Both go to the
bundle's rejects.csv with their file, line and reason.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from domainfit.config.schema import DataConfig
from domainfit.data.checks import DataReport, Issue
from domainfit.data.split import split_data
from domainfit.errors import EmptyDataError
from domainfit.i18n import _
from domainfit.tasks.ner.io import Fields, NerData, Problem, Sentence, read_ner
from domainfit.tasks.ner.tags import spans_from_tags

__all__ = ["NerSplits", "kept_sentences", "prepare_ner", "problem_issues", "write_rejects", "write_sentences"]

ROLES = ("train", "val", "test")
REJECT_COLUMNS = ["_file", "_line", "kind", "reason", "text"]

# Problem kinds that sit inside a sentence the reader kept (its tags, its entity spans); the others are lines or
# records the reader skipped. See domainfit.tasks.ner.io and domainfit.tasks.ner.tags.
IN_SENTENCE = frozenset({"bad_tag", "i_without_b", "unclosed", "bad_entity", "span_out_of_range", "empty_span",
                         "span_snapped", "duplicate_span", "overlapping_spans"})

HINTS = {
    "missing_tag": "write the token first and its tag last, separated by a tab or spaces; a blank line ends a sentence",
    "empty_token": "every line needs a token in its first column",
    "empty_tag": "every line needs a tag in its last column (O outside entities)",
    "column_count": "give every line the same columns: only the first (token) and the last (tag) are read",
    "bad_tag": "tags are O or PREFIX-TYPE with prefix B, I, E or S, e.g. B-PER, I-ORG",
    "i_without_b": "start each entity with B-TYPE, or set task_options.repair_tags: true to read such an I- as B-",
    "unclosed": "close a BIOES entity with E-TYPE (S-TYPE for one word); it is read as ending there",
    "bad_json": "write one JSON object per line",
    "bad_record": 'write {"tokens": [...], "tags": [...]} or {"text": "...", "entities": [{"start", "end", "label"}]}',
    "length_mismatch": "give exactly one tag per token",
    "empty_text": "remove the empty record",
    "bad_entity": 'each entity needs integer "start" and "end" and a "label"',
    "span_out_of_range": "offsets count the text's characters from 0, end exclusive (text[start:end] is the entity)",
    "empty_span": "an entity must cover at least one word",
    "span_snapped": "put start and end on word boundaries",
    "duplicate_span": "list each entity once",
    "overlapping_spans": "BIO tags hold one entity per word: keep one of the overlapping entities",
    "missing_field": "give every record the field named by data.text_column / data.label_column (--text / --label), or leave them out for the standard names",
    "ignored_columns": "leave --text / --label out for CoNLL files",
    "no_sentences": "check the file format: CoNLL columns (token ... tag) or JSON Lines records",
}


@dataclass
class NerSplits:
    """Sentences to train, validate and test on, what was left out (with file:line), the report, the entity types."""

    train: list[Sentence]
    val: list[Sentence]
    test: list[Sentence]
    rejects: list[dict]
    report: DataReport
    types: list[str]


def kept_sentences(data: NerData) -> tuple[list[Sentence], list[dict]]:
    """(the sentences without an error inside them, a reject row for every error: skipped line or sentence left out)."""
    starts = [s.line for s in data.sentences]  # a file's sentences come in line order
    bad: dict[int, list[Problem]] = defaultdict(list)
    rejects = []
    for p in data.errors:
        at = bisect.bisect_right(starts, p.line) - 1 if p.kind in IN_SENTENCE else -1
        if at >= 0:
            bad[at].append(p)
        else:
            rejects.append({"_file": p.file, "_line": p.line, "kind": p.kind, "reason": p.message, "text": ""})
    for at, problems in bad.items():
        s = data.sentences[at]
        rejects += [{"_file": p.file, "_line": p.line, "kind": p.kind, "reason": f"sentence left out: {p.message}",
                     "text": s.text} for p in problems]
    kept = [s for i, s in enumerate(data.sentences) if i not in bad]
    return kept, sorted(rejects, key=lambda r: (r["_file"], r["_line"]))


def _stratum(sentence: Sentence) -> str:
    """What the split keeps in proportion: a sentence's most frequent entity type, or none."""
    kinds = Counter(kind for _start, _end, kind in spans_from_tags(sentence.tags))
    return kinds.most_common(1)[0][0] if kinds else "(none)"


def _split(kept: dict[str, list[Sentence]], cfg: DataConfig) -> dict[str, list[Sentence]]:
    """The user's own validation/test sentences where given, the rest carved from train (stratified, seeded)."""

    def frame(sentences: list[Sentence]) -> pd.DataFrame:
        return pd.DataFrame({"i": range(len(sentences)), "label": [_stratum(s) for s in sentences]}, dtype=object)

    given = {role: frame(kept[role]) for role in ("val", "test") if role in kept}
    parts = split_data(frame(kept["train"]), test_size=cfg.test_size, val_size=cfg.val_size, seed=cfg.seed,
                       val=given.get("val"), test=given.get("test"))
    return {role: [kept[role if role in given else "train"][i] for i in parts[role]["i"]] for role in ROLES}


def problem_issues(reads: dict[str, NerData]) -> list[Issue]:
    """One issue per kind of problem and severity, with every place it occurs."""
    grouped: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for data in reads.values():
        for p in data.problems:
            grouped[(p.severity, p.kind)].append(p)
    issues = []
    for (severity, kind), problems in sorted(grouped.items()):
        first = problems[0]
        more = f" (and {len(problems) - 1} more like it)" if len(problems) > 1 else ""
        issues.append(Issue(kind, severity, f"{first.message}{more}", [f"{p.file}:line {p.line}" for p in problems],
                            hint=HINTS.get(kind)))
    return issues


def _long_sentences(splits: dict[str, list[Sentence]], tokenizer, max_length: int) -> list[Issue]:
    """How many sentences the model reads in several overlapping windows (they are merged back at prediction)."""
    sentences = [s for role in ROLES for s in splits[role]]
    if tokenizer is None or not sentences:
        return []
    pieces = tokenizer([s.tokens for s in sentences], is_split_into_words=True, add_special_tokens=True, verbose=False)
    long = [s for s, ids in zip(sentences, pieces["input_ids"]) if len(ids) > max_length]
    if not long:
        return []
    return [Issue("long_sentences", "info", f"{len(long)} of {len(sentences)} sentences are longer than max_length "
                  f"({max_length} word pieces): each is read in overlapping windows, merged back per word",
                  [f"{s.source}:line {s.line}" for s in long], hint="raise model.max_length to read them whole")]


def prepare_ner(cfg: DataConfig, *, repair: bool, tokenizer=None, max_length: int = 128) -> NerSplits:
    """Read data.train (and data.val / data.test where given), leave out the sentences with errors, split, report.
    Raises EmptyDataError (carrying the report) when no training sentence with an entity remains."""
    paths = {role: getattr(cfg, role) for role in ROLES if getattr(cfg, role) is not None}
    fields = Fields(cfg.text_column, cfg.label_column)
    reads = {role: read_ner(path, encoding=cfg.encoding, repair=repair, fields=fields) for role, path in paths.items()}
    kept, rejects = {}, []
    for role, data in reads.items():
        kept[role], rejected = kept_sentences(data)
        rejects += rejected
    splits = _split(kept, cfg)
    issues = problem_issues(reads)
    if cfg.drop_leakage and "test" in paths:
        in_test = {tuple(s.tokens) for s in splits["test"]}
        leaked = [s for s in splits["train"] if tuple(s.tokens) in in_test]
        if leaked:
            splits["train"] = [s for s in splits["train"] if tuple(s.tokens) not in in_test]
            issues.append(Issue("leakage", "warning", f"{len(leaked)} training sentences also appear in the test file; "
                                "left out of training so the test scores stay honest", [f"{s.source}:line {s.line}" for s in leaked],
                                hint="set data.drop_leakage: false to keep them"))
    types = sorted({kind for s in splits["train"] for _start, _end, kind in spans_from_tags(s.tags)})
    unseen = sorted({kind for role in ("val", "test") for s in splits[role] for _start, _end, kind in spans_from_tags(s.tags)} - set(types))
    if unseen:
        issues.append(Issue("unseen_entity_type", "warning", f"entity types {', '.join(unseen)} are in the validation or "
                            "test sentences but not in training: the model cannot predict them", [str(paths.get("test", ""))],
                            hint="add training sentences with these types, or drop them from the evaluation files"))
    issues += _long_sentences(splits, tokenizer, max_length)
    per_type = {role: dict(sorted(Counter(k for s in splits[role] for _start, _end, k in spans_from_tags(s.tags)).items())) for role in ROLES}
    read_in = sum(len(d.sentences) for d in reads.values())
    left_out = read_in - sum(len(k) for k in kept.values())
    counts = {"rows_in": read_in, "rows_kept": read_in - left_out, "rows_rejected": left_out,
              "lines_skipped": sum(1 for r in rejects if not r["text"]),
              **{role: len(splits[role]) for role in ROLES},
              "tokens": {role: sum(len(s.tokens) for s in splits[role]) for role in ROLES},
              "entities": {role: sum(per_type[role].values()) for role in ROLES}, "per_label": per_type}
    files = [{"path": str(paths[role]), "role": role, "format": d.format, "rows": len(d.sentences), "encoding": d.encoding,
              "scheme": d.scheme} for role, d in reads.items()]
    report = DataReport(issues=issues, files=files, columns={"text": "tokens", "label": "tags"}, counts=counts, labels=types)
    if not splits["train"] or not types:
        err = EmptyDataError(_("no training sentence with an entity remains") if splits["train"] else
                             _("no training sentence remains"), where=str(cfg.train),
                             hint=_("run `domainfit data check {path}` to see every problem with its line").format(path=cfg.train))
        err.report = report  # type: ignore[attr-defined]  # so `data check` can still print every finding
        raise err
    return NerSplits(splits["train"], splits["val"], splits["test"], rejects, report, types)


def write_rejects(rejects: Sequence[dict], path: str | Path) -> None:
    pd.DataFrame(list(rejects), columns=REJECT_COLUMNS).to_csv(path, index=False, encoding="utf-8-sig")  # Excel reads it


def write_sentences(sentences: Sequence[Sentence], path: str | Path) -> None:
    """JSON Lines that `read_ner` reads back: tokens and BIO tags, with the text and the origin of each sentence."""
    with open(path, "w", encoding="utf-8") as fh:
        for s in sentences:
            fh.write(json.dumps({"tokens": s.tokens, "tags": s.tags, "text": s.text, "source": s.source, "line": s.line},
                                ensure_ascii=False) + "\n")
