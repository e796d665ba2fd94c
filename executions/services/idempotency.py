"""Idempotency-Key on evaluate and batch: a retry gets the first answer, not a second evaluation.

A key belongs to (tenant, caller). Its row is written in the transaction of the request's log rows
(executions.log_writer), so the first answer is stored exactly when its evaluation is logged.
A retry finds the row and gets the stored answer, with the same `execution_id`. The key can be
sent to another node, or after a 503 whose rows committed late. Two racing requests with one key
both evaluate; the second one's commit finds the key taken, writes nothing, and answers with the
first's answer. A used key with another body is refused (422). Keys live
IDEMPOTENCY_KEY_TTL_HOURS.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.conf import settings
from django.utils import timezone

from executions.log_writer import IdempotencyClaim
from executions.models import IdempotencyKey

# Letters, digits, punctuation and spaces: what clients send (UUIDs, "order-123:retry"), nothing
# that cannot travel in a header or a log line.
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}\Z")


class IdempotencyKeyInvalid(Exception):
    """The Idempotency-Key header is empty, too long or holds characters it may not."""


class IdempotencyKeyReused(Exception):
    """The key's stored answer belongs to another request (another body or path)."""


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One evaluate or batch request sent with an Idempotency-Key."""

    tenant_id: int
    caller: str
    key: str
    fingerprint: str


def idempotent_request(*, header: str, tenant_id: int, caller: str, method: str, path: str, body):
    """The request's key and fingerprint, or IdempotencyKeyInvalid naming what is wrong."""
    if not KEY_PATTERN.match(header):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1 to 255 printable ASCII characters "
            f"(got {len(header)} characters)"
        )
    return IdempotentRequest(tenant_id, caller, header, request_fingerprint(method, path, body))


def request_fingerprint(method: str, path: str, body) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (keys sorted), so a retry
    that sends the same JSON with its keys in another order is the same request."""
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer beyond 64 bits: orjson cannot write it
        canonical = repr(body).encode()
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), canonical)).hexdigest()


def stored_answer(request: IdempotentRequest) -> IdempotencyKey | None:
    """The live key row of `request`'s key, if one is recorded; IdempotencyKeyReused (naming
    the key and the setting) when it was recorded for another request."""
    stored = (
        IdempotencyKey.objects.filter(
            tenant_id=request.tenant_id,
            caller=request.caller,
            key=request.key,
            created_at__gte=_expired_before(),
        )
        .only("request_hash", "response_status", "response_body")
        .first()
    )
    if stored is not None and stored.request_hash != request.fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key '{request.key}' was already used with a different request "
            f"in the last {settings.IDEMPOTENCY_KEY_TTL_HOURS:g} hours "
            "(IDEMPOTENCY_KEY_TTL_HOURS); send a new key for a new request."
        )
    return stored


def idempotency_claim(
    request: IdempotentRequest, *, status: int, body: bytes, execution_id
) -> IdempotencyClaim:
    """The key row to commit with the request's log rows: its answer, to replay."""
    now = timezone.now()
    values = (
        request.tenant_id,
        request.caller,
        request.key,
        request.fingerprint,
        status,
        body.decode(),
        execution_id,
        now,
    )
    return IdempotencyClaim(values=values, expired_before=_expired_before(now))


def idempotency_keys_purge(*, batch_size: int = 10_000) -> int:
    """Delete expired keys in batches; returns how many."""
    deleted = 0
    cutoff = _expired_before()
    while True:
        ids = list(
            IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]


def _expired_before(now=None):
    return (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
