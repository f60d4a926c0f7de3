"""What instructors write hidden checks with. See docs/writing-checks.md."""

from autograder.checks.context import CheckContext, Grads, Remote
from autograder.checks.errors import CheckFailed, StudentError
from autograder.checks.registry import Assignment, Check, Forbid, Item
from autograder.checks.tolerances import TOLERANCES, tolerance

__all__ = [
    "Assignment",
    "Check",
    "CheckContext",
    "CheckFailed",
    "Forbid",
    "Grads",
    "Item",
    "Remote",
    "StudentError",
    "TOLERANCES",
    "tolerance",
]
