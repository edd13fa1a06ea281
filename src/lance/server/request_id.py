"""The request id: the client's ``X-Request-ID`` when it is sane, else a fresh one.

A sane id is 1-128 characters of letters, digits and ``._:-`` (UUIDs, ULIDs, trace ids), so
whatever a client sends cannot inject log lines, headers or markup; anything else is replaced,
not rejected: a bad id must not cost the client its answer.
"""

from __future__ import annotations

import re
import uuid

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id(sent: str | bytes | None) -> str:
    """``sent`` when it is a sane id, otherwise a new random one."""
    if isinstance(sent, bytes):
        sent = sent.decode("latin-1")
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return new_request_id()
