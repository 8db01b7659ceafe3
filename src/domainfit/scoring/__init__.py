"""Scoring large files: a Parquet file of texts in, partitioned Parquet of predictions out, on a Ray cluster.

    ray_batch   score_parquet(): blocks of rows scored by a pool of actors that each load the bundle once
"""

from domainfit.scoring.ray_batch import score_parquet

__all__ = ["score_parquet"]
