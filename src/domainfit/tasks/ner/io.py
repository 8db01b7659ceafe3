"""Reading named-entity files (CoNLL columns; JSON Lines of tokens+tags or of text+character spans) into BIO sentences.

Every sentence comes back with its tokens, BIO tags, a text and each token's character offsets in it, and the
file and line it came from. Nothing is dropped silently: a malformed line, a tag fixed on the way, a span snapped
to word bounds or dropped all become a `Problem` naming file:line. The caller decides: `NerData.raise_for_errors()`.

Written by hand (no library reads all three shapes and says where each problem is): the column parser, the span
to token conversion and the small word splitter that both it and inference use (`split_words`). Encoding
detection is domainfit.data.encoding's, line by line: a sentence or record with a line in another encoding than the
rest of the file is left out with an `encoding` error on that line, never read as mojibake.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainfit.data.encoding import Decoded, decode
from domainfit.data.io import folder_error
from domainfit.errors import DataError, EncodingError
from domainfit.i18n import _
from domainfit.tasks.ner.tags import detect_scheme, spans_from_tags, tags_from_spans, to_bio
from domainfit.tasks.ner.words import Offsets, is_wide, join_tokens, split_words

__all__ = ["FORMATS", "Fields", "NerData", "Problem", "Sentence", "is_wide", "join_tokens", "read_ner", "split_words"]



@dataclass(frozen=True)
class Problem:
    """One finding in an input file: where (file, 1-based line), a stable kind, one sentence, the severity."""

    file: str
    line: int
    kind: str
    message: str
    severity: str  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message} [{self.kind}]"


@dataclass(frozen=True)
class Sentence:
    """Tokens with BIO tags; `text` is what they spell and `offsets[i]` the (start, end) of token i in it."""

    tokens: list[str]
    tags: list[str]
    text: str
    offsets: Offsets
    source: str
    line: int  # 1-based line of the first token (CoNLL) or of the record (JSON Lines)


@dataclass(frozen=True)
class NerData:
    """What `read_ner` found: BIO sentences, every problem, the entity types, and how the file was read."""

    sentences: list[Sentence]
    problems: list[Problem]
    entity_types: list[str]
    format: str  # "conll" | "jsonl-tokens" | "jsonl-spans" ("jsonl" when no record could be read)
    scheme: str  # the file's own scheme, "BIO" or "BIOES"; the sentences are always BIO
    encoding: str

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_for_errors(self, most: int = 20) -> None:
        """Raise DataError listing the errors (the first `most`) when there are any."""
        errors = self.errors
        if errors:
            listed = "\n".join(f"  {p}" for p in errors[:most])
            more = "\n  " + _("... and {n} more").format(n=len(errors) - most) if len(errors) > most else ""
            raise DataError(
                _("{n} error(s) in the entity data:").format(n=len(errors)) + f"\n{listed}{more}",
                where=errors[0].file,
                hint=_("fix these lines in the file; I- tags after O are repaired when reading with repair=True"),
            )


# ---------------------------------------------------------------------------------------------------- words and text

# Scripts written without spaces between words: each character is one token, and no space joins two of them.
@dataclass
class _Draft:
    """A sentence before its tags are checked: raw tags, the line of each token, and (spans) the original text."""

    tokens: list[str]
    tags: list[str]
    token_lines: list[int]
    line: int
    text: str | None = None
    offsets: Offsets | None = None


@dataclass
class _Found:
    drafts: list[_Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    format: str = ""


@dataclass(frozen=True)
class Fields:
    """The user's names (data.text_column, data.label_column) for a JSON record's text and its labels.

    The text field holds a list of tokens (then the labels are one tag a token) or a string (then the labels are
    entity spans); both are read as if they were named "tokens"/"tags" or "text"/"entities". CoNLL files have no
    field names: the word is the first column and the tag the last, so names given for them are reported and unused.
    """

    text: str | None = None
    label: str | None = None

    def __bool__(self) -> bool:
        return bool(self.text or self.label)

    def rename(self, rec: dict, shown: str, line: int) -> tuple[dict | None, Problem | None]:
        """The record with the user's fields under the standard names, or a problem naming the missing field."""
        for name, key in ((self.text, "data.text_column"), (self.label, "data.label_column")):
            if name and name not in rec:
                return None, Problem(shown, line, "missing_field", _("no field {name} ({key}); the record has {keys}").format(
                    name=repr(name), key=key, keys=sorted(rec)[:10]), "error")
        out = dict(rec)
        if self.text:
            value = out.pop(self.text)
            shape = "tokens" if isinstance(value, list) else "text"
            out.pop("text" if shape == "tokens" else "tokens", None)  # the user's field decides the record's shape
            out[shape] = value
        if self.label:
            value = out.pop(self.label)
            out["tags" if isinstance(out.get("tokens"), list) else "entities"] = value
        return out, None


# ---------------------------------------------------------------------------------------------------- CoNLL


def _columns(line: str) -> list[str]:
    # A tab anywhere means tab-separated (a token may then hold a space); otherwise any run of whitespace.
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def _read_conll(text: str, shown: str, fields: Fields = Fields()) -> _Found:
    """Token in the first column, tag in the last; a blank or -DOCSTART- line ends a sentence."""
    lines = [raw.rstrip("\r") for raw in text.split("\n")]
    widths = Counter(len(_columns(line)) for line in lines if line.strip() and not line.startswith("-DOCSTART-"))
    usual = widths.most_common(1)[0][0] if widths else 2
    found = _Found(format="conll")
    if fields:
        named = ", ".join(f"{k}={v!r}" for k, v in (("data.text_column", fields.text), ("data.label_column", fields.label)) if v)
        found.problems.append(Problem(shown, 1, "ignored_columns", _("{named} not used: a CoNLL file's word is its first "
                                      "column and its tag the last").format(named=named), "warning"))
    tokens: list[str] = []
    tags: list[str] = []
    token_lines: list[int] = []

    def end_sentence() -> None:
        if tokens:
            found.drafts.append(_Draft(tokens.copy(), tags.copy(), token_lines.copy(), token_lines[0]))
        for kept in (tokens, tags, token_lines):
            kept.clear()

    for number, line in enumerate(lines, start=1):
        cols = _columns(line)
        if not line.strip() or cols[0] == "-DOCSTART-":
            end_sentence()
            continue
        problem = _conll_line_problem(cols, usual)
        if problem is not None:
            kind, message, severity = problem
            found.problems.append(Problem(shown, number, kind, _("{problem}: {line}").format(
                problem=message, line=repr(line.strip()[:80])), severity))
            if severity == "error":
                continue
        tokens.append(cols[0])
        tags.append(cols[-1])
        token_lines.append(number)
    end_sentence()
    return found


def _conll_line_problem(cols: list[str], usual: int) -> tuple[str, str, str] | None:
    if len(cols) < 2:
        return "missing_tag", _("one column only; a line needs the token first and the tag last (the line is skipped)"), "error"
    if not cols[0]:
        return "empty_token", _("the token column is empty (the line is skipped)"), "error"
    if not cols[-1]:
        return "empty_tag", _("the tag column is empty (the line is skipped)"), "error"
    if len(cols) != usual:
        return "column_count", _("{n} columns where the file mostly has {usual}; the last one is read as the tag").format(
            n=len(cols), usual=usual), "warning"
    return None


# ---------------------------------------------------------------------------------------------------- JSON records


def _json_records(text: str, shown: str) -> Iterator[tuple[int, Any, Problem | None]]:
    """(line, record, problem) for each record: a JSON array of objects, or one object a line (JSON Lines)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from _json_array(text, shown)
        return
    # split on "\n" only: str.splitlines would also split at U+2028, which JSON strings may hold raw
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as e:
            yield number, None, Problem(shown, number, "bad_json", _("not valid JSON ({error}, column {column}): {line}").format(
                error=e.msg, column=e.colno, line=repr(line.strip()[:80])), "error")
        except RecursionError:
            yield number, None, Problem(shown, number, "bad_json", _("JSON nested too deeply to read: {line}").format(
                line=repr(line.strip()[:40])), "error")


def _json_array(text: str, shown: str) -> Iterator[tuple[int, Any, Problem | None]]:
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        line = text.count("\n", 0, position) + 1
        if position >= len(text) or text[position] == "]":
            return
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as e:
            yield e.lineno, None, Problem(shown, e.lineno, "bad_json", _("not valid JSON ({error}, column {column}); the rest of "
                                          "the file is not read").format(error=e.msg, column=e.colno), "error")
            return
        except RecursionError:
            yield line, None, Problem(shown, line, "bad_json", _("JSON nested too deeply to read; the rest of the file is not "
                                      "read"), "error")
            return
        yield line, record, None


def _tokens_record(rec: dict, shown: str, line: int) -> tuple[_Draft | None, list[Problem]]:
    """{"tokens": [...], "tags": [...]} (also "ner_tags"): one tag a token."""
    def problem(kind: str, message: str, severity: str = "error") -> list[Problem]:
        return [Problem(shown, line, kind, message, severity)]

    tokens = rec.get("tokens")
    tag_key = next((k for k in ("tags", "ner_tags") if k in rec), "tags")
    tags = rec.get(tag_key)
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        return None, problem("bad_record", _('"tokens" must be a list of strings'))
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        hint = _("; integer ner_tags need their names: write the tag strings instead") if isinstance(tags, list) else ""
        return None, problem("bad_record", _('"{key}" must be a list of tag strings such as "B-PER"').format(key=tag_key) + hint)
    if len(tokens) != len(tags):
        return None, problem("length_mismatch", _("{tokens} tokens but {tags} tags; there must be one tag a token").format(
            tokens=len(tokens), tags=len(tags)))
    if not tokens:
        return None, problem("empty_text", _("no tokens (the record is skipped)"), "warning")
    if not all(t.strip() for t in tokens):
        empty = [i for i, t in enumerate(tokens) if not t.strip()]
        return None, problem("empty_token", _("tokens {positions} are empty or whitespace; every token must hold a "
                                              "character").format(positions=empty))
    return _Draft(tokens, tags, [line] * len(tokens), line), []


def _entity_dict(ent: dict) -> tuple[Any, Any, Any]:
    ent = ent["value"] if isinstance(ent.get("value"), dict) else ent  # Label Studio puts it under "value"
    label = next((ent[k] for k in ("label", "type", "labels") if k in ent), None)
    if isinstance(label, list) and len(label) == 1:  # Label Studio: "labels": ["ORG"]
        label = label[0]
    return ent.get("start"), ent.get("end"), label


_ENTITY_SHAPES: dict[type, Callable[[Any], tuple[Any, Any, Any]]] = {
    dict: _entity_dict,
    list: lambda e: tuple(e) if len(e) == 3 else (None, None, None),  # doccano: [start, end, label]
}
_ENTITY_KEYS = ("entities", "spans", "label", "labels")  # doccano exports its triples under "label"


def _spans_record(rec: dict, shown: str, line: int) -> tuple[_Draft | None, list[Problem]]:
    """{"text": "...", "entities": [{"start": 0, "end": 4, "label": "ORG"}, ...]} -> words and BIO tags."""
    text = rec.get("text")
    if not isinstance(text, str):
        return None, [Problem(shown, line, "bad_record", _('"text" must be a string'), "error")]
    if not text.strip():
        return None, [Problem(shown, line, "empty_text", _("the text is empty (the record is skipped)"), "warning")]
    entities = next((rec[k] for k in _ENTITY_KEYS if k in rec), [])
    if not isinstance(entities, list):
        return None, [Problem(shown, line, "bad_record", _('"entities" must be a list of {"start", "end", "label"} objects'),
                              "error")]
    words = split_words(text)
    spans, problems = _word_spans(text, words, entities, shown, line)
    tokens = [text[a:b] for a, b in words]
    return _Draft(tokens, tags_from_spans(len(words), spans), [line] * len(words), line, text, words), problems


def _word_spans(text: str, words: Offsets, entities: list, shown: str, line: int) -> tuple[list[tuple[int, int, str]], list[Problem]]:
    """Each valid entity as a word span, snapped outward to whole words; bad, empty and overlapping ones reported."""
    problems: list[Problem] = []
    kept: list[tuple[int, int, str, int, str]] = []  # first word, word after the last, label, entity number, shown

    def report(kind: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(shown, line, kind, message, severity))

    for j, ent in enumerate(entities):
        shape = _ENTITY_SHAPES.get(type(ent))
        start, end, label = shape(ent) if shape else (None, None, None)
        if not (type(start) is int and type(end) is int and isinstance(label, str) and label.strip()):
            report("bad_entity", _('entity {n} {entity} needs integer "start" and "end" and a "label" (or "type") '
                                   'string').format(n=j, entity=json.dumps(ent, ensure_ascii=False)[:80]))
            continue
        desc = _("entity {n} [{start}, {end}) {label}").format(n=j, start=start, end=end, label=repr(label))
        if not 0 <= start < end <= len(text):
            report("span_out_of_range", _("{entity} is outside the text (length {length}) or empty; the entity is "
                                          "dropped").format(entity=desc, length=len(text)))
            continue
        covered = [k for k, (a, b) in enumerate(words) if a < end and b > start]
        if not covered:
            report("empty_span", _("{entity} covers only whitespace ({text}); the entity is dropped").format(
                entity=desc, text=repr(text[start:end])))
            continue
        first, last = covered[0], covered[-1] + 1
        a, b = words[first][0], words[last - 1][1]
        if a < start or b > end:
            report("span_snapped", _("{entity} {text} cuts through a word; widened to [{start}, {end}) {widened}").format(
                entity=desc, text=repr(text[start:end]), start=a, end=b, widened=repr(text[a:b])), "warning")
        kept.append((first, last, label.strip(), j, f"{desc} {text[a:b]!r}"))
    spans: list[tuple[int, int, str, int, str]] = []
    for span in sorted(kept):
        clash = next((s for s in spans if span[0] < s[1] and s[0] < span[1]), None)
        if clash is None:
            spans.append(span)
        elif clash[:3] == span[:3]:
            report("duplicate_span", _("{entity} repeats entity {n}; the repeat is dropped").format(entity=span[4], n=clash[3]),
                   "warning")
        else:
            report("overlapping_spans", _("{entity} overlaps {other}; BIO tags cannot hold both, the second is dropped").format(
                entity=span[4], other=clash[4]))
    return [s[:3] for s in spans], problems


_RECORD_SHAPES: dict[str, tuple[str, Callable[[dict, str, int], tuple[_Draft | None, list[Problem]]]]] = {
    "tokens": ("jsonl-tokens", _tokens_record),
    "text": ("jsonl-spans", _spans_record),
}
"""The key that tells a record's shape -> (format name, reader). The first record decides for the file."""


def _read_json(text: str, shown: str, fields: Fields = Fields()) -> _Found:
    found = _Found(format="jsonl")
    reader = None
    for line, rec, problem in _json_records(text, shown):
        if problem is None and not isinstance(rec, dict):
            problem = Problem(shown, line, "bad_record", _("a JSON {kind}, not an object").format(kind=type(rec).__name__),
                              "error")
        if problem is None and fields:
            rec, problem = fields.rename(rec, shown, line)
        if problem is not None:
            found.problems.append(problem)
            continue
        if reader is None:
            key = next((k for k in _RECORD_SHAPES if k in rec), None)
            if key is None:
                shapes = ' or '.join(f'"{k}"' for k in _RECORD_SHAPES)
                raise DataError(
                    _("the first record has neither {shapes}: keys {keys}").format(shapes=shapes, keys=sorted(rec)[:10]),
                    where=f"{shown}:line {line}",
                    hint=_('write {"tokens": [...], "tags": [...]} or {"text": "...", "entities": [{"start": 0, "end": 4, '
                           '"label": "ORG"}]}'),
                )
            found.format, reader = _RECORD_SHAPES[key]
        draft, problems = reader(rec, shown, line)
        found.problems += problems
        if draft is not None:
            found.drafts.append(draft)
    return found


# ---------------------------------------------------------------------------------------------------- registry

FORMATS: dict[str, Callable[[str, str, Fields], _Found]] = {
    ".conll": _read_conll,
    ".txt": _read_conll,
    ".bio": _read_conll,
    ".iob": _read_conll,
    ".tsv": _read_conll,
    ".jsonl": _read_json,
    ".ndjson": _read_json,
    ".json": _read_json,
}
"""File extension -> reader of its decoded text (text, file name shown, the user's field names). A new format is one
entry here."""


def _decode(path: Path, shown: str, encoding: str | None) -> Decoded:
    raw = path.read_bytes()
    try:
        return decode(raw, encoding)
    except EncodingError as e:
        line = getattr(e, "line", None)
        message = _("cannot decode the file as {encoding}: {error}").format(encoding=repr(encoding), error=e.message) \
            if encoding else e.message
        raise EncodingError(message, where=f"{shown}:line {line}" if line else shown, hint=e.hint) from None
    except DataError as e:  # binary bytes
        raise DataError(e.message, where=shown, hint=e.hint) from None


def _leave_out_bad_lines(found: _Found, decoded: Decoded, text: str, shown: str) -> None:
    """Drop every draft with a line in another encoding (or with NUL bytes), and report each such line. The lines
    are numbered here as the readers number them: at \\n only."""
    if not decoded.bad:
        return
    bad: dict[int, str] = {}
    number = 1
    for i, line in enumerate(decoded.lines):
        if i in decoded.bad:
            bad[number] = decoded.bad[i].partition(": ")[2] or decoded.bad[i]
        number += line.count("\n")
    array = text.lstrip().startswith("[")  # a JSON array: a record runs to the next one

    def lines_of(k: int) -> set[int]:
        d = found.drafts[k]
        if not array:
            return set(d.token_lines) | {d.line}
        end = found.drafts[k + 1].line if k + 1 < len(found.drafts) else max(bad) + 1
        return set(range(d.line, end))

    found.drafts = [d for k, d in enumerate(found.drafts) if not lines_of(k) & bad.keys()]
    found.problems += [Problem(shown, n, "encoding", _("{reason}; its sentence or record is left out").format(reason=reason), "error")
                       for n, reason in sorted(bad.items())]


def read_ner(path: str | os.PathLike, *, encoding: str | None = None, repair: bool = True, fields: Fields = Fields()) -> NerData:
    """Read one entity file; the extension picks the reader (see FORMATS), a JSON file's first record its shape.

    Tags come back in BIO whatever the file used (BIOES and its spellings are converted). With `repair`, an I- tag
    that starts an entity becomes B- (a warning); without, it is an error. Problems carry file:line; raises
    DataError only when the file cannot be read at all. `fields` names a JSON record's text and label fields when
    they are not the standard ones (see Fields).
    """
    shown = str(path)
    p = Path(path)
    if p.is_dir():
        raise folder_error(p, shown, FORMATS)
    reader = FORMATS.get(p.suffix.lower())
    if reader is None:
        raise DataError(_("unsupported entity file type {suffix}").format(suffix=repr(p.suffix or "(no extension)")),
                        where=shown, hint=_("use one of {names}").format(names=", ".join(FORMATS)))
    if not p.is_file():
        raise DataError(_("no such file: {path}").format(path=p.resolve()), where=shown,
                        hint=_("check the path; relative paths start from {cwd}").format(cwd=Path.cwd()))
    decoded = _decode(p, shown, encoding)
    text = decoded.text
    found = reader(text, shown, fields)
    _leave_out_bad_lines(found, decoded, text, shown)
    return _finish(found, shown, decoded.encoding, repair)


def _finish(found: _Found, shown: str, encoding: str, repair: bool) -> NerData:
    """Check and convert every draft's tags (with the scheme of the whole file), then build the sentences."""
    scheme = detect_scheme([tag for d in found.drafts for tag in d.tags])
    problems = list(found.problems)
    sentences = []
    for d in found.drafts:
        tags, issues = to_bio(d.tags, scheme=scheme, repair=repair)
        problems += [Problem(shown, d.token_lines[i.index], i.kind, _("token {token}: {message}").format(
            token=repr(d.tokens[i.index]), message=i.message), i.severity) for i in issues]
        text, offsets = (d.text, d.offsets) if d.text is not None and d.offsets is not None else join_tokens(d.tokens)
        sentences.append(Sentence(d.tokens, tags, text, offsets, shown, d.line))
    if not sentences:
        problems.append(Problem(shown, 1, "no_sentences", _("no sentence could be read from the file"), "error"))
    types = sorted({kind for s in sentences for _start, _end, kind in spans_from_tags(s.tags)})
    problems.sort(key=lambda q: q.line)
    return NerData(sentences, problems, types, found.format, scheme, encoding)
