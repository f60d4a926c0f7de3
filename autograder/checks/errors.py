"""How a check fails."""

from __future__ import annotations


class CheckFailed(AssertionError):
    """The student's code gave a wrong answer; the message is shown to the student."""


class StudentError(Exception):
    """The student's code raised an exception in the worker (reduced to plain data)."""

    def __init__(self, info: dict, call: str = ""):
        self.info = info
        self.call = call
        super().__init__(self.describe())

    @property
    def type_name(self) -> str:
        return str(self.info.get("type", "Exception"))

    def is_a(self, exc_type: type[BaseException]) -> bool:
        return exc_type.__name__ in self.info.get("mro", [self.type_name])

    def describe(self) -> str:
        where = str(self.info.get("traceback", "")).strip().splitlines()
        loc = f" (at {where[-1]})" if where else ""
        msg = str(self.info.get("message", ""))[:500]
        return f"{self.call or 'your code'} raised {self.type_name}: {msg}{loc}"
