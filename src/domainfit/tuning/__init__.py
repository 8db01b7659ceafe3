"""Hyperparameter search with Optuna: a default search space per method, TPE sampling, pruning from the loop's
per-epoch validation metric, the defaults always trial 0, studies in an RDB storage that resumes after a kill and that
several processes or machines share, the best config trained into a bundle, and a report.

    space     SearchSpace (typed, from YAML), the default space of each method, checks before any work
    study     tune(): open the storage and the study, run trials, keep the best bundle
    report    report.html + tune.json: optimisation history and parameter importances (Optuna's matplotlib plots)
    compare   compare_tuner(): `compare --tune`, each method tuned on its run's own train/validation files
"""

from domainfit.tuning.compare import compare_tuner
from domainfit.tuning.space import DEFAULT_SPACES, ParamSpec, default_space, load_space
from domainfit.tuning.study import tune

__all__ = ["DEFAULT_SPACES", "compare_tuner", "ParamSpec", "default_space", "load_space", "tune"]
