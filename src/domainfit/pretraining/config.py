"""The settings of `domainfit pretrain`, typed and checked before any work starts (unknown keys refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PretrainConfig"]


class PretrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="a table (one text column), a .txt file (one text per line) or a folder of them")
    output: str = Field(description="the folder to write: a plain Hugging Face model folder + backbone.json")
    backbone: str | None = Field(None, description="the model to start from (default: the bundled all-MiniLM-L6-v2)")
    text_column: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    normalize: bool = True
    redact: bool | str | list[str] | None = None
    heldout: float = Field(0.05, ge=0, lt=0.5, description="share of the texts kept aside to measure the MLM loss")
    max_texts: int | None = Field(None, ge=2, description="use at most this many texts (a random sample)")
    extend_vocab: Literal["auto", "off"] | int = Field("auto", description="auto | off | N (at most N new tokens)")
    words: bool = Field(False, description="also add frequent jieba words (two or more Chinese characters)")
    min_count: int = Field(2, ge=1, description="a character is added when seen at least this many times")
    init: Literal["pieces", "mean"] = Field("pieces", description="new embeddings: mean of the pieces they replace, or of the matrix")
    objective: str = Field("mlm", description="mlm | simcse | tsdae, or several joined by + (mlm+simcse)")
    steps: int | None = Field(None, ge=1, description="optimizer steps (default: --epochs over the corpus)")
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(32, ge=2)
    lr: float = Field(5e-5, gt=0)
    warmup_steps: int | None = Field(None, ge=0, description="steps that train only the new embeddings first (default: 10%, at most 200)")
    warmup_lr_scale: float = Field(10.0, gt=0, description="the new embeddings' learning rate during warm-up, x lr")
    max_length: int = Field(128, ge=8)
    eval_every: int = Field(100, ge=1, description="steps between held-out evaluations")
    patience: int | None = Field(3, ge=1, description="early stopping: evaluations without a lower held-out loss")
    checkpoint_every: int = Field(100, ge=1)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 42

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        from domainfit.errors import DomainfitError
        from domainfit.pretraining.objectives import parse_objectives

        try:
            return "+".join(parse_objectives(v))
        except DomainfitError as e:
            raise ValueError(f"{e.message} ({e.hint})") from None

    @field_validator("extend_vocab", mode="before")
    @classmethod
    def _budget(cls, v):
        if isinstance(v, str) and v.strip().isdigit():
            return int(v)
        return v
