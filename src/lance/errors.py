"""Errors LANCE raises, split by cause so callers (and the CLI) can react precisely.

    LanceError                      base of everything below
    ├── ConfigError                 bad YAML, unknown backend, invalid setting
    ├── InputError                  empty / wrong-typed prompt or file
    ├── ModelFileError              GGUF or checkpoint missing, corrupt, mismatched
    ├── AssessmentUnavailable       the gate is not loaded here (a proxy run without an assessor)
    └── BackendError                a chat backend failed to produce text (any other exception it raised)
        ├── BackendUnavailable      server down, connection refused
        ├── BackendTimeout          no answer within the timeout or the request's time budget
        └── BackendResponseError    4xx/5xx or an answer that cannot be used
            ├── BackendRateLimited  the upstream answered 429 (``retry_after`` seconds, when it said)
            └── ContextOverflow     the prompt is longer than the model's context (also an InputError)

Every message says what to do next; the CLI prints it on one line.
"""

from __future__ import annotations


class LanceError(Exception):
    """Base class of every error LANCE raises on purpose."""


class ConfigError(LanceError):
    """The configuration (file, environment or flags) cannot be used."""


class InputError(LanceError, ValueError):
    """The caller passed input LANCE cannot work on (empty prompt, wrong type)."""


class ModelFileError(LanceError):
    """A model file (GGUF, checkpoint) is missing, corrupt or does not match."""


class AssessmentUnavailable(LanceError):
    """Assessment was asked for where no label-enhancement assessor is loaded."""


class BackendError(LanceError):
    """A chat backend failed to produce a completion."""


class BackendUnavailable(BackendError):
    """The backend could not be reached at all."""


class BackendTimeout(BackendError):
    """The backend did not answer within the configured timeout."""


class BackendResponseError(BackendError):
    """The backend answered, but with an error status or an unusable body."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class BackendRateLimited(BackendResponseError):
    """The upstream refused the call for load (HTTP 429); ``retry_after`` is its ``Retry-After``, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=429)
        self.retry_after = retry_after


class ContextOverflow(BackendResponseError, InputError):
    """The prompt does not fit the model's context window: the caller's input, not an outage."""


__all__ = [
    "AssessmentUnavailable",
    "BackendError",
    "BackendRateLimited",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "ConfigError",
    "ContextOverflow",
    "InputError",
    "LanceError",
    "ModelFileError",
]
