"""`domainfit compare`: methods x labelled-data budgets on one test split → leaderboard, learning curve, advice."""

from domainfit.comparison.leaderboard import aggregate, recommend
from domainfit.comparison.run import run_compare
from domainfit.comparison.sampling import parse_shots, sample_per_class

__all__ = ["aggregate", "parse_shots", "recommend", "run_compare", "sample_per_class"]
