"""Running a handler on one delivery, the same way for every bus: parse, run, classify, measure.

The bus settles the delivery from the outcome: ``ACK`` acknowledges, ``RETRY`` returns the
message (the broker counts it toward the delivery limit), ``DEAD_LETTER`` rejects it for good.
"""

from __future__ import annotations

import enum
import logging
import time

from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from fusion.bus.base import Handler, PoisonMessage
from fusion.contracts import Envelope
from fusion.observability import correlation_id

logger = logging.getLogger(__name__)

DELIVERIES = Counter(
    "fusion_bus_deliveries_total",
    "Deliveries handled, by queue and outcome (ack, retry, dead_letter).",
    ["queue", "outcome"],
)
HANDLER_DURATION = Histogram(
    "fusion_bus_handler_duration_seconds",
    "Time a consumer spent on one delivery, by queue.",
    ["queue"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)


class Outcome(enum.Enum):
    ACK = "ack"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


async def handle_delivery(handler: Handler, body: bytes, *, queue: str) -> Outcome:
    started = time.perf_counter()
    outcome = await _run(handler, body, queue=queue)
    HANDLER_DURATION.labels(queue).observe(time.perf_counter() - started)
    DELIVERIES.labels(queue, outcome.value).inc()
    return outcome


async def _run(handler: Handler, body: bytes, *, queue: str) -> Outcome:
    try:
        envelope = Envelope.from_bytes(body)
    except ValidationError:
        logger.exception("unparseable message dead-lettered from %s", queue)
        return Outcome.DEAD_LETTER
    token = correlation_id.set(envelope.correlation_id)
    try:
        await handler(envelope)
    except PoisonMessage:
        logger.exception("poison message %s dead-lettered from %s", envelope.message_id, queue)
        return Outcome.DEAD_LETTER
    except Exception:
        logger.exception("handler failed on %s from %s; returned", envelope.message_id, queue)
        return Outcome.RETRY
    finally:
        correlation_id.reset(token)
    return Outcome.ACK
