"""Typed configuration: schemas and the YAML/override loader."""

from domainfit.config.load import load_config, parse_override
from domainfit.config.schema import DataConfig, ModelConfig, TrainConfig, TrainingConfig

__all__ = ["load_config", "parse_override", "DataConfig", "ModelConfig", "TrainConfig", "TrainingConfig"]
