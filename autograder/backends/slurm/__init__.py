"""Grading on a Slurm cluster (backend.py says how a run works): the submitting side
(``SlurmBackend``) and the task side (``grade_shard``)."""

from autograder.backends.slurm.backend import SlurmBackend
from autograder.backends.slurm.shard import grade_shard

__all__ = ["SlurmBackend", "grade_shard"]
