"""Entity tag schemes: parse, detect, validate and repair BIO/BIOES tags, and move between tags and spans.

Every sentence leaves this module in BIO ("O", "B-TYPE", "I-TYPE"). BIOES input is accepted under its usual
spellings (BIOES/IOBES, BILOU's L-/U-, and BMES's M- as used by Chinese corpora) and converted. Written by hand
rather than with seqeval's scheme classes, because every fix must say which token it touched and why.

Pure functions on lists of strings; nothing here knows about files: problems come back as `TagIssue`s carrying
the token index, and the reader turns them into file:line problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domainfit.i18n import _

__all__ = [
    "OUTSIDE",
    "SCHEMES",
    "TagIssue",
    "bio_labels",
    "detect_scheme",
    "parse_tag",
    "spans_from_tags",
    "tags_from_spans",
    "to_bio",
]

OUTSIDE = "O"

Span = tuple[int, int, str]  # (first token, token after the last, entity type)

# Another spelling -> the BIOES letter it means: BILOU's Last/Unit and BMES's Middle.
_PREFIX_ALIASES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S", "M": "I"}
_TAG = re.compile(r"^([A-Za-z])[-_](\S.*)$")


@dataclass(frozen=True)
class TagIssue:
    """One finding about one token: its index in the sentence, a stable kind, a sentence, and the severity."""

    index: int
    kind: str  # "bad_tag" | "i_without_b" | "unclosed"
    message: str
    severity: str  # "error" | "warning"


def parse_tag(tag: str) -> tuple[str, str] | None:
    """("O", "") for outside, (letter of B/I/E/S, type) for an entity tag, None when the tag is not readable.

    >>> parse_tag("b-PER"), parse_tag("M-LOC"), parse_tag("PER")
    (('B', 'PER'), ('I', 'LOC'), None)
    """
    tag = tag.strip()
    if tag.upper() == OUTSIDE:
        return OUTSIDE, ""
    m = _TAG.match(tag)
    if m is None or m.group(1).upper() not in _PREFIX_ALIASES:
        return None
    return _PREFIX_ALIASES[m.group(1).upper()], m.group(2).strip()


def detect_scheme(tags: Sequence[str]) -> str:
    """"BIOES" when any tag ends or is a single-token entity (E-/S-/L-/U-), else "BIO"."""
    for tag in tags:
        parsed = parse_tag(tag)
        if parsed is not None and parsed[0] in ("E", "S"):
            return "BIOES"
    return "BIO"


def to_bio(tags: Sequence[str], *, scheme: str | None = None, repair: bool = True) -> tuple[list[str], list[TagIssue]]:
    """Tags in canonical BIO, plus what was found on the way.

    An unreadable tag becomes "O" (error). An I- tag that follows O, the start, or another type becomes B- with
    `repair` (warning), and stays I- otherwise (error). In a BIOES sentence an entity that is not closed by E-
    (B-X or I-X followed by anything but I-X/E-X) is a warning: the BIO reading is still unambiguous.
    `scheme` is the file's scheme (detect_scheme over all its tags); by default it is detected on this sentence.
    """
    scheme = scheme or detect_scheme(tags)
    parsed: list[tuple[str, str]] = []
    issues: list[TagIssue] = []
    for i, tag in enumerate(tags):
        p = parse_tag(tag)
        if p is None:
            issues.append(TagIssue(i, "bad_tag", _("tag {tag} is not O or PREFIX-TYPE with prefix B, I, E or S; read as "
                                                     "O").format(tag=repr(tag)), "error"))
            p = (OUTSIDE, "")
        parsed.append(p)
    if scheme == "BIOES":
        issues += _unclosed(parsed)
    out: list[str] = []
    previous_type = ""  # the type of the entity the previous token is in, "" outside
    for i, (letter, kind) in enumerate(parsed):
        if letter == OUTSIDE:
            out.append(OUTSIDE)
            previous_type = ""
            continue
        begins = letter in ("B", "S")
        if not begins and kind != previous_type:
            after = tags[i - 1] if i else _("the sentence start")
            if repair:
                issues.append(TagIssue(i, "i_without_b", _("{tag} after {after}: read as B-{kind}").format(
                    tag=tags[i], after=after, kind=kind), "warning"))
                begins = True
            else:
                issues.append(TagIssue(i, "i_without_b", _("{tag} after {after}: an entity must start with B-{kind}").format(
                    tag=tags[i], after=after, kind=kind), "error"))
        out.append(f"{'B' if begins else 'I'}-{kind}")
        previous_type = "" if letter in ("E", "S") else kind
    return out, sorted(issues, key=lambda issue: issue.index)


def _unclosed(parsed: list[tuple[str, str]]) -> list[TagIssue]:
    issues = []
    for i, (letter, kind) in enumerate(parsed):
        if letter in ("B", "I"):
            nxt = parsed[i + 1] if i + 1 < len(parsed) else (OUTSIDE, "")
            if not (nxt[0] in ("I", "E") and nxt[1] == kind):
                issues.append(TagIssue(i, "unclosed", _("{letter}-{kind} is not followed by I-{kind} or E-{kind} (BIOES): "
                                                        "the entity ends here").format(
                    letter=letter, kind=kind), "warning"))
    return issues


def spans_from_tags(tags: Sequence[str]) -> list[Span]:
    """Entity spans (first token, token after the last, type) from BIO or BIOES tags.

    Lenient, as a decoder must be: an I- tag that does not continue an entity of its type starts a new one
    (what seqeval's default mode does too); E-/S- close the entity; unreadable tags count as O.
    """
    spans: list[Span] = []
    start, current = -1, ""
    for i, tag in enumerate(tags):
        letter, kind = parse_tag(tag) or (OUTSIDE, "")
        if current and (letter in (OUTSIDE, "B", "S") or kind != current):
            spans.append((start, i, current))
            current = ""
        if letter != OUTSIDE and not current:
            start, current = i, kind
        if letter in ("E", "S") and current:
            spans.append((start, i + 1, current))
            current = ""
    if current:
        spans.append((start, len(tags), current))
    return spans


def _bio_tags(length: int, kind: str) -> list[str]:
    return [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)


def _bioes_tags(length: int, kind: str) -> list[str]:
    if length == 1:
        return [f"S-{kind}"]
    return [f"B-{kind}"] + [f"I-{kind}"] * (length - 2) + [f"E-{kind}"]


SCHEMES: dict[str, Callable[[int, str], list[str]]] = {"BIO": _bio_tags, "BIOES": _bioes_tags}
"""Scheme name -> the tags of one entity of a given length and type. A new scheme is one entry here."""


def tags_from_spans(n_tokens: int, spans: Sequence[Span], *, scheme: str = "BIO") -> list[str]:
    """The tags of `n_tokens` tokens holding `spans`. Raises ValueError for a span out of range or overlapping
    another: callers that read user data check spans first (see domainfit.tasks.ner.io) and report them by line."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    tags = [OUTSIDE] * n_tokens
    for start, end, kind in sorted(spans):
        if not 0 <= start < end <= n_tokens:
            raise ValueError(f"span ({start}, {end}, {kind!r}) is outside tokens 0..{n_tokens}")
        if any(t != OUTSIDE for t in tags[start:end]):
            raise ValueError(f"span ({start}, {end}, {kind!r}) overlaps another span")
        tags[start:end] = SCHEMES[scheme](end - start, kind)
    return tags


def bio_labels(entity_types: Sequence[str]) -> list[str]:
    """The label list a token classifier is trained on: "O" first (index 0), then B-/I- of each type, sorted.

    >>> bio_labels(["PER", "LOC"])
    ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER']
    """
    return [OUTSIDE] + [f"{p}-{t}" for t in sorted(set(entity_types)) for p in ("B", "I")]
