"""The interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.grading import GradeOptions
from autograder.results import SubmissionResult
from autograder.submissions import Submission


@dataclass
class GradeJob:
    """A batch: which assignment, which submissions, how, and where results go."""

    course_root: Path
    assignment_id: str
    submissions: list[Submission]
    options: GradeOptions
    out_dir: Path
    require_sandbox: bool = False


class Backend(ABC):
    """Grades every submission of a job, calling ``on_result`` once per submission as it is done
    (from the thread that called ``run``). A backend never stops the batch for one submission."""

    @abstractmethod
    def run(self, job: GradeJob, on_result: Callable[[SubmissionResult], None]) -> None: ...
