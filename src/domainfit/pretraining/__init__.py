"""Domain-adaptive pretraining (`domainfit pretrain`): extend a backbone's vocabulary and continue pretraining it on
the user's own unlabelled text with masked-LM and sentence-embedding objectives; the result is a plain Hugging Face
folder that any `model.backbone` accepts."""

from domainfit.pretraining.config import PretrainConfig
from domainfit.pretraining.run import BACKBONE_FILE, run_pretrain

__all__ = ["BACKBONE_FILE", "PretrainConfig", "run_pretrain"]
