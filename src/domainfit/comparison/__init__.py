"""`domainfit compare`: methods x labelled-data budgets on one test split → leaderboard, learning curve, advice."""

from domainfit.comparison.leaderboard import aggregate, recommend
from domainfit.comparison.run import check_methods, run_compare
from domainfit.comparison.sampling import budget_of, parse_shots
from domainfit.data.sampling import sample_per_bin, sample_per_class
from domainfit.tasks.multilabel import sample_per_label
from domainfit.tasks.ner.pool import sample_sentences_per_type

__all__ = ["aggregate", "budget_of", "check_methods", "parse_shots", "recommend", "run_compare", "sample_per_bin",
           "sample_per_class", "sample_per_label", "sample_sentences_per_type"]
