"""The pretraining objectives, one registered class each, and the model the shared loop trains (their sum).

    mlm     masked language modelling with whole-word masking (transformers' DataCollatorForLanguageModeling)
    simcse  unsupervised SimCSE: each sentence against itself under two dropout masks, in-batch negatives
            (sentence-transformers' MultipleNegativesRankingLoss on duplicated sentences)
    tsdae   TSDAE: reconstruct the sentence from the embedding of a copy with 60% of its tokens deleted
            (sentence-transformers' DenoisingAutoEncoderLoss, decoder tied to the encoder)

Every objective shares one encoder: the backbone (plain `AutoModel`) sits inside the masked-LM model and inside the
sentence-transformers model, so what any objective learns is in the folder that is saved. A new objective is one
class registered here with `@objectives.register(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from domainfit.i18n import _
from domainfit.pretraining.words import synthetic_offsets, unpack
from domainfit.registry import Registry

__all__ = ["Core", "PretrainModel", "objectives", "parse_objectives"]

objectives: Registry = Registry("pretraining objective", "domainfit.pretraining.objectives", listing="objectives")


@dataclass
class Core:
    """What the objectives share. A plain object, not a module: each objective registers only its own parameters."""

    mlm: Any  # AutoModelForMaskedLM whose base model is `base`
    base: Any  # the backbone, AutoModel
    tokenizer: Any
    folder: Path  # the backbone as saved before training (the TSDAE decoder and the sentence model load its config)
    pooling: str = "mean"
    _sentence: Any = None

    def sentence_model(self) -> Any:
        """A SentenceTransformer (transformer + pooling) over `base` itself, built once."""
        if self._sentence is None:
            from sentence_transformers import SentenceTransformer
            from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

            module = Transformer(str(self.folder))
            module.model = self.base  # share the weights: what the sentence objectives learn is the saved backbone
            pooling = Pooling(self.base.config.hidden_size, pooling_mode=self.pooling)
            self._sentence = SentenceTransformer(modules=[module, pooling], device="cpu")
        return self._sentence


def _specials(tokenizer: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    special = torch.tensor(sorted(tokenizer.all_special_ids), device=ids.device)
    return torch.isin(ids, special) | ~mask.bool()


@objectives.register("mlm")
class MaskedLM(nn.Module):
    """Whole-word masked language modelling: 15% of the words, every token of a chosen word masked."""

    description = "masked language modelling, whole words masked (## pieces; jieba words for Chinese)"

    def __init__(self, core: Core, probability: float = 0.15) -> None:
        super().__init__()
        from transformers import DataCollatorForLanguageModeling

        self._core = core
        # whole-word masking in transformers replaces with [MASK] only (no random or kept tokens): set so explicitly
        self.collator = DataCollatorForLanguageModeling(core.tokenizer, mlm=True, mlm_probability=probability,
                                                        whole_word_mask=True, mask_replace_prob=1.0,
                                                        random_replace_prob=0.0, return_tensors="pt")

    def mask(self, ids: torch.Tensor, mask: torch.Tensor, cont: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        special = _specials(self._core.tokenizer, ids, mask)
        masked, labels = self.collator.torch_mask_tokens(ids.clone().cpu(), special_tokens_mask=special.long().cpu(),
                                                         offset_mapping=synthetic_offsets(cont).cpu())
        if not (labels != -100).any():  # nothing drawn (a tiny batch): mask the first ordinary token
            rows, cols = torch.nonzero(~special.cpu(), as_tuple=True)
            if len(rows):
                r, c = rows[0], cols[0]
                labels[r, c], masked[r, c] = ids[r, c], self._core.tokenizer.mask_token_id
        return masked.to(ids.device), labels.to(ids.device)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        masked, labels = self.mask(ids, mask, cont)
        head = getattr(self._core.mlm, "cls", None)  # BERT-family MLM head
        if head is None:
            return self._core.mlm(input_ids=masked, attention_mask=mask, labels=labels).loss
        # The vocabulary projection only where a token was masked (15%), not at every position: the same loss as
        # BertForMaskedLM's, at a fraction of the cost of its (batch x length x vocabulary) logits.
        hidden = self._core.base(input_ids=masked, attention_mask=mask).last_hidden_state
        chosen = labels != -100
        logits = head(hidden[chosen])
        return torch.nn.functional.cross_entropy(logits.float(), labels[chosen])


@objectives.register("simcse")
class SimCSE(nn.Module):
    """Unsupervised SimCSE (Gao et al. 2021) as MultipleNegativesRankingLoss on (sentence, same sentence) pairs."""

    description = "unsupervised SimCSE: a sentence against itself under two dropout masks (sentence-transformers MNRL)"

    def __init__(self, core: Core) -> None:
        super().__init__()
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        self.loss = MultipleNegativesRankingLoss(core.sentence_model())

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        feats = {"input_ids": ids, "attention_mask": mask}
        return self.loss([feats, dict(feats)], None)


@objectives.register("tsdae")
class TSDAE(nn.Module):
    """TSDAE (Wang et al. 2021): DenoisingAutoEncoderLoss, 60% of each sentence's tokens deleted on the encoder side."""

    description = "TSDAE: rebuild the sentence from the embedding of a copy missing 60% of its tokens"

    def __init__(self, core: Core, deletion: float = 0.6) -> None:
        super().__init__()
        import logging

        from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss

        self._core = core
        self.deletion = deletion
        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)  # its "vocabulary changed" notices
        self.loss = DenoisingAutoEncoderLoss(core.sentence_model(), tie_encoder_decoder=True)

    def noisy(self, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        special = _specials(self._core.tokenizer, ids, mask)
        keep = (torch.rand(ids.shape, device=ids.device) > self.deletion) | special
        keep &= mask.bool()
        for r in range(ids.shape[0]):  # at least one ordinary token stays
            ordinary = torch.nonzero(~special[r]).flatten()
            if len(ordinary) and not keep[r][ordinary].any():
                keep[r, ordinary[0]] = True
        rows = [ids[r][keep[r]] for r in range(ids.shape[0])]
        width = max(len(x) for x in rows)
        pad = self._core.tokenizer.pad_token_id
        out = torch.full((len(rows), width), pad, dtype=ids.dtype, device=ids.device)
        att = torch.zeros_like(out)
        for r, x in enumerate(rows):
            out[r, : len(x)], att[r, : len(x)] = x, 1
        return {"input_ids": out, "attention_mask": att}

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        return self.loss([self.noisy(ids, mask), {"input_ids": ids, "attention_mask": mask}], None)


def parse_objectives(spec: str) -> list[str]:
    """'mlm+simcse' -> ['mlm', 'simcse'], each name checked against the registry (unknown: "did you mean")."""
    from domainfit.errors import RegistryError

    names = [n.strip().lower() for n in spec.replace(",", "+").split("+") if n.strip()]
    if not names:
        raise RegistryError(_("no pretraining objective given"), where="--objective",
                            hint=_("one or more of {names} joined by +, e.g. mlm+simcse").format(names=", ".join(objectives.names())))
    unknown = [n for n in names if n not in objectives]
    if unknown:
        raise RegistryError(objectives.unknown_message(unknown[0]), where="--objective",
                            hint=_("join several with +, e.g. mlm+simcse"))
    return list(dict.fromkeys(names))


class PretrainModel(nn.Module):
    """The sum of the chosen objectives' losses; what `train_loop` trains. Its input ids are packed (`words.pack`)."""

    def __init__(self, core: Core, names: list[str]) -> None:
        super().__init__()
        self.mlm = core.mlm
        self.objectives = nn.ModuleDict({n: objectives.get(n)(core) for n in names})
        self._measure = self.objectives["mlm"] if "mlm" in self.objectives else MaskedLM(core)
        self.last: dict[str, float] = {}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        ids, cont = unpack(input_ids)
        parts = {n: obj(ids, attention_mask, cont) for n, obj in self.objectives.items()}
        self.last = {n: float(v.detach()) for n, v in parts.items()}
        return sum(parts.values())

    def measure(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, float]:
        """Held-out losses: the masked-LM loss (always) and each objective's."""
        ids, cont = unpack(input_ids)
        out = {"mlm": float(self._measure(ids, attention_mask, cont))}
        for n, obj in self.objectives.items():
            if n != "mlm":
                out[n] = float(obj(ids, attention_mask, cont))
        return out
