"""Domain errors. Services raise these; views catch them and show ``message``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    PERMISSION_DENIED = "permission_denied"
    SEGREGATION_OF_DUTIES = "segregation_of_duties"
    FOUR_EYES = "four_eyes"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"


class ApplicationError(Exception):
    """Base of every domain error: a stable ``code`` for machines, a ``message`` for people."""

    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(self, message: str, *, code: ErrorCode | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra or {}


class InvalidTransition(ApplicationError):
    code = ErrorCode.INVALID_TRANSITION

    def __init__(self, *, model: str, pk, current: str, target: str, message: str = ""):
        self.model, self.pk, self.current, self.target = model, pk, current, target
        super().__init__(
            message or f"A {model} in state “{current}” cannot move to “{target}”.",
            extra={"model": model, "pk": pk, "current": current, "target": target},
        )


class FourEyesViolation(ApplicationError):
    code = ErrorCode.FOUR_EYES


class SegregationOfDutiesViolation(ApplicationError):
    code = ErrorCode.SEGREGATION_OF_DUTIES
