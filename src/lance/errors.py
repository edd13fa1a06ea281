"""Errors LANCE raises, split by cause so callers (and the CLI) can react precisely.

    LanceError                      base of everything below
    ├── ConfigError                 bad YAML, unknown backend, invalid setting
    ├── InputError                  empty / wrong-typed prompt or file
    ├── ModelFileError              GGUF or checkpoint missing, corrupt, mismatched
    ├── AssessmentUnavailable       the gate is not loaded here (a proxy run without an assessor)
    └── BackendError                a chat backend failed to produce text
        ├── BackendUnavailable      server down, connection refused
        ├── BackendTimeout          no answer within the timeout
        └── BackendResponseError    4xx/5xx or an answer that cannot be used

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


__all__ = [
    "AssessmentUnavailable",
    "BackendError",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "ConfigError",
    "InputError",
    "LanceError",
    "ModelFileError",
]
