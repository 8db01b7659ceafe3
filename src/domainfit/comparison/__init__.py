"""`domainfit compare`: methods x labelled-data budgets on one test split → leaderboard, learning curve, advice."""

from domainfit.comparison.leaderboard import aggregate, recommend
from domainfit.comparison.run import check_methods, run_compare
from domainfit.comparison.sampling import (BUDGETS, budget_of, parse_shots, sample_per_bin, sample_per_class, sample_per_label,
                                           sample_sentences_per_type)

__all__ = ["BUDGETS", "aggregate", "budget_of", "check_methods", "parse_shots", "recommend", "run_compare", "sample_per_bin",
           "sample_per_class", "sample_per_label", "sample_sentences_per_type"]
