"""A summary of entity data, like `domainfit check` for tables: counts, entity types, problems, as a plain dict."""

from __future__ import annotations

from collections import Counter

from domainfit.tasks.ner.io import NerData
from domainfit.tasks.ner.tags import spans_from_tags

__all__ = ["summarize_ner"]


def summarize_ner(data: NerData, *, most_problems: int = 50) -> dict:
    """Sentences, tokens, entities per type, sentence lengths, and problems by kind and severity (the first
    `most_problems` listed with file:line), ready for JSON or a table."""
    entities: Counter[str] = Counter(kind for s in data.sentences for _, _, kind in spans_from_tags(s.tags))
    lengths = [len(s.tokens) for s in data.sentences]
    files = sorted({s.source for s in data.sentences} | {p.file for p in data.problems})
    return {
        "files": files,
        "format": data.format,
        "scheme": data.scheme,
        "encoding": data.encoding,
        "sentences": len(data.sentences),
        "tokens": sum(lengths),
        "max_tokens": max(lengths, default=0),
        "mean_tokens": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
        "sentences_without_entities": sum(1 for s in data.sentences if all(t == "O" for t in s.tags)),
        "entity_types": data.entity_types,
        "entities": dict(sorted(entities.items())),
        "errors": len(data.errors),
        "warnings": len(data.warnings),
        "problem_kinds": dict(sorted(Counter(f"{p.severity}:{p.kind}" for p in data.problems).items())),
        "problems": [{"file": p.file, "line": p.line, "kind": p.kind, "severity": p.severity, "message": p.message} for p in data.problems[:most_problems]],
    }
