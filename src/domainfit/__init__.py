"""domainfit: turn a general pretrained language model into a model for one industry's job.

    import domainfit
    model = domainfit.train({"data": {"train": "tickets.csv"}, "output": "runs/tickets"})
    domainfit.load("runs/tickets").predict(["my card was swallowed by the ATM"])
"""

from domainfit.api import (Model, bench, check_data, compare, compress, evaluate, load, pretrain, recommend, redact, redact_file,
                           retrain, train, tune)
from domainfit.config.schema import TrainConfig
from domainfit.errors import DomainfitError

__version__ = "0.1.0"

__all__ = ["DomainfitError", "Model", "TrainConfig", "__version__", "bench", "check_data", "compare", "compress", "evaluate",
           "load", "pretrain", "recommend", "redact", "redact_file", "retrain", "train", "tune"]
