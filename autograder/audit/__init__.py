"""``autograder audit``: which hidden checks catch which wrong implementations of each item."""

from autograder.audit.matrix import (
    MIN_WRONG,
    AuditReport,
    Case,
    CaseOutcome,
    run_audit,
    submission_cases,
    wrong_cases,
)
from autograder.audit.render import as_html, as_text

__all__ = ["MIN_WRONG", "AuditReport", "Case", "CaseOutcome", "as_html", "as_text", "run_audit",
           "submission_cases", "wrong_cases"]
