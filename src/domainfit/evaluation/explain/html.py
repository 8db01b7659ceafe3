"""An explanation as HTML: the text with each word's background tinted by its weight (green raised the explained
score, red lowered it), for report.html and the studio. Every piece of text is escaped: texts come from customers."""

from __future__ import annotations

from html import escape

__all__ = ["attach_explanations", "highlight_html"]


def highlight_html(explanation: dict) -> str:
    """`<span class="explained">` holding the text, each weighted word in a `<mark>` whose title gives its weight."""
    text, words = explanation["text"], explanation["words"]
    peak = max((abs(w["weight"]) for w in words), default=0.0) or 1.0
    parts, at = [], 0
    for w in sorted(words, key=lambda w: w["start"]):
        parts.append(escape(text[at:w["start"]]))
        share = w["weight"] / peak
        rgb = "22,163,74" if share > 0 else "220,38,38"
        parts.append(f'<mark style="background:rgba({rgb},{abs(share) * 0.6:.2f});color:inherit" '
                     f'title="{w["weight"]:+.4f}" data-weight="{w["weight"]:.6f}">{escape(text[w["start"]:w["end"]])}</mark>')
        at = w["end"]
    parts.append(escape(text[at:]))
    return f'<span class="explained" data-method="{escape(explanation["method"])}">{"".join(parts)}</span>'


def attach_explanations(predictor, errors: list[dict], *, method: str = "auto", limit: int = 10) -> None:
    """Add "explanation" (why the wrong label was predicted) to the first `limit` of `errors` (worst_errors' rows,
    most confident first, in place; bounded because every evaluation pays for them); nothing when the model cannot
    be explained (an entity model)."""
    from domainfit.errors import DomainfitError
    from domainfit.evaluation.explain import explain

    errors = errors[:limit]
    if not errors:
        return
    try:
        found = explain(predictor, [e["text"] for e in errors], method=method, targets=[e["pred"] for e in errors])
    except DomainfitError:
        return
    for err, e in zip(errors, found):
        e["words"] = [{**w, "weight": round(w["weight"], 5)} for w in e["words"]]
        err["explanation"] = e
