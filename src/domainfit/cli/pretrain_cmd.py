"""`domainfit pretrain`: a thin shell over `domainfit.pretrain` (domain-adaptive pretraining of a backbone)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from domainfit.i18n import _

__all__ = ["pretrain"]

Opt = typer.Option


def pretrain(
    source: Annotated[Path, typer.Argument(help="unlabelled texts: a table (csv/tsv/jsonl/parquet/xlsx), a .txt file (one text per line) or a folder of them")],
    output: Annotated[Path, Opt("-o", "--output", help="folder to write: a Hugging Face model folder + backbone.json")],
    text: Annotated[Optional[str], Opt("--text", help="text column of a table (inferred when unambiguous)")] = None,
    model: Annotated[Optional[str], Opt("--model", help="backbone to start from (default: bundled MiniLM)")] = None,
    extend_vocab: Annotated[str, Opt("--extend-vocab", help="auto | off | N: add the characters the tokenizer cannot represent (at most N)")] = "auto",
    words: Annotated[bool, Opt("--words", help="also add frequent jieba words (Chinese)")] = False,
    objective: Annotated[str, Opt("--objective", help="mlm | simcse | tsdae, or several joined by + (mlm+simcse)")] = "mlm",
    init: Annotated[str, Opt("--init", help="new embeddings: pieces (mean of the pieces they replace) | mean (of the matrix)")] = "pieces",
    steps: Annotated[Optional[int], Opt("--steps", help="optimizer steps (default: --epochs over the corpus)")] = None,
    epochs: Annotated[float, Opt("--epochs")] = 1.0,
    batch_size: Annotated[int, Opt("--batch-size")] = 32,
    lr: Annotated[float, Opt("--lr")] = 5e-5,
    max_length: Annotated[int, Opt("--max-length", help="tokens per text")] = 128,
    heldout: Annotated[float, Opt("--heldout", help="share of the texts kept aside to measure the loss")] = 0.05,
    max_texts: Annotated[Optional[int], Opt("--max-texts", help="use a random sample of this many texts")] = None,
    redact: Annotated[Optional[str], Opt("--redact", help="replace personal data first, as training would: all or kinds (phone,email,...)")] = None,
    encoding: Annotated[Optional[str], Opt("--encoding", help="input file encoding (detected when not given)")] = None,
    seed: Annotated[int, Opt("--seed")] = 42,
    resume: Annotated[bool, Opt("--resume", help="continue an interrupted run from its last checkpoint in -o")] = False,
    overwrite: Annotated[bool, Opt("--overwrite", help="replace what -o holds")] = False,
) -> None:
    """Teach the backbone your domain from unlabelled text: extend its vocabulary, continue pretraining, save a folder
    that `train --model` accepts."""
    from domainfit.api import pretrain as _pretrain
    from domainfit.cli.data_cmd import _redact_value
    from domainfit.cli.ui import RichReporter, console

    console.print(_("[bold]domainfit pretrain[/]: {source} → {output} (objective {objective}, vocabulary {vocab})").format(
        source=source, output=output, objective=objective, vocab=extend_vocab))
    out = _pretrain(source, output, model=model, resume=resume, overwrite=overwrite, reporter=RichReporter(),
                    text_column=text, extend_vocab=extend_vocab, words=words, objective=objective, init=init,
                    steps=steps, epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, heldout=heldout,
                    max_texts=max_texts, redact=_redact_value(redact), encoding=encoding, seed=seed)
    import json

    meta = json.loads((out / "backbone.json").read_text(encoding="utf-8"))
    before, after = meta["heldout"]["before"] or {}, meta["heldout"]["after"] or {}
    if before and after:
        console.print(_("held-out MLM loss {before} → {after} (perplexity {ppl_before} → {ppl_after})").format(
            before=f"{before['mlm_loss']:.3f}", after=f"{after['mlm_loss']:.3f}",
            ppl_before=f"{before['mlm_perplexity']:.1f}", ppl_after=f"{after['mlm_perplexity']:.1f}"))
    console.print(_("backbone: [bold]{path}[/]   ({tokens} tokens added, {steps} steps, {speed} tokens/s)").format(
        path=out, tokens=meta["tokens_added"]["total"], steps=meta["steps"]["total"],
        speed=f"{meta['speed']['tokens_per_second']:.0f}"))
    console.print(_("next: {command}").format(command=f"domainfit train labelled.csv --model {out}"))
