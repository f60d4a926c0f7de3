"""Execution backends: where the submissions of a batch are graded (one class per engine)."""

from autograder.backends.base import Backend, GradeJob
from autograder.backends.local import LocalBackend

__all__ = ["Backend", "GradeJob", "LocalBackend", "get_backend"]


def get_backend(name: str, **options) -> Backend:
    if name == "local":
        return LocalBackend(**options)
    if name == "slurm":
        from autograder.backends.slurm import SlurmBackend

        return SlurmBackend(**options)
    raise ValueError(f"unknown backend {name!r} (local or slurm)")
