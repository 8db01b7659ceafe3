"""How `domainfit predict --explain` shows an explanation: the text with each word coloured by its weight."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from domainfit.i18n import _

__all__ = ["explanation_text", "top_words"]


def top_words(explanation: dict, k: int = 5) -> list[dict]:
    """The k words that raised the explained score most, strongest first."""
    return sorted((w for w in explanation["words"] if w["weight"] > 0), key=lambda w: -w["weight"])[:k]


def explanation_text(explanation: dict) -> Text:
    """The text the model read, words that raised the score in green, those that lowered it in red (the stronger,
    the bolder), then the explained label, the score and the method."""
    text = explanation["text"]
    peak = max((abs(w["weight"]) for w in explanation["words"]), default=0.0) or 1.0
    out = Text(text)
    for w in explanation["words"]:
        share = abs(w["weight"]) / peak
        if share >= 0.15:
            colour = "green" if w["weight"] > 0 else "red"
            out.stylize(f"{'bold ' if share >= 0.5 else ''}{colour}", w["start"], w["end"])
    target = explanation["target"]
    out.append(f"  → {target + ' ' if target is not None else ''}{explanation['score']:.3f} ({explanation['method']}; "
               + _("top words: {words}").format(words=", ".join(w["word"] for w in top_words(explanation, 3)) or _("none")) + ")",
               style="dim")
    return out


def print_explanations(console, explanations: Sequence[dict]) -> None:
    console.print(_("[bold]why[/] (green raised the score, red lowered it):"))
    for e in explanations:
        console.print(explanation_text(e))
