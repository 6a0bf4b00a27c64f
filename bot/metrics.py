"""Prometheus metrics of one process, in its own registry, served at /metrics (bot/web.py).

One `Metrics` object is made per process and handed to ingest, the dispatcher and the workers
(through `Services`), so tests and several bots in one process never share counters. Gauges of
what waits in the database (inbox backlog, nudges due, transcription queue) are read from it
when Prometheus scrapes, by bot/web.py.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATE_AFTER_SECONDS = 60.0  # a delivery sent later than this after its due time counts as late
_LATENESS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
_TRANSCRIPTION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class Metrics:
    """The metric objects one process shares; each part counts what it does."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates_received = Counter(
            "between_updates_received", "Updates newly stored in the inbox", registry=r
        )
        self.updates_handled = Counter(
            "between_updates_handled",
            "Tries of an update's handlers, by result (done, failed, retry)",
            ["result"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "between_handler_seconds",
            "Time to handle one update once: its handlers and the commit",
            registry=r,
        )
        self.inbox_backlog = Gauge(
            "between_inbox_backlog", "Updates stored and not handled yet", registry=r
        )
        self.nudges_due = Gauge(
            "between_nudges_due", "Deliveries due now and not sent yet", registry=r
        )
        self.nudges_sent = Counter(
            "between_nudges_sent",
            "Deliveries Telegram accepted, by kind (nudge, checkin, snooze)",
            ["kind"],
            registry=r,
        )
        self.nudges_late = Counter(
            "between_nudges_late",
            f"Deliveries sent more than {LATE_AFTER_SECONDS:.0f} s after their due time",
            ["kind"],
            registry=r,
        )
        self.nudges_expired = Counter(
            "between_nudges_expired",
            "Deliveries not sent because they were due longer ago than BETWEEN_GRACE_MINUTES",
            ["kind"],
            registry=r,
        )
        self.nudge_lateness = Histogram(
            "between_nudge_lateness_seconds",
            "From a delivery's due time to Telegram accepting it",
            buckets=_LATENESS_BUCKETS,
            registry=r,
        )
        self.dispatcher_last_round = Gauge(
            "between_dispatcher_last_round_timestamp_seconds",
            "When the dispatcher last finished a round (Unix time)",
            registry=r,
        )
        self.transcription_queue = Gauge(
            "between_transcription_queue",
            "Voice notes waiting for a worker or being transcribed",
            registry=r,
        )
        self.transcriptions = Counter(
            "between_transcriptions",
            "Voice notes finished, by result (done, no_words, failed)",
            ["result"],
            registry=r,
        )
        self.transcription_seconds = Histogram(
            "between_transcription_seconds",
            "From a voice note's job row to its stored transcript (queue wait included)",
            buckets=_TRANSCRIPTION_BUCKETS,
            registry=r,
        )
        self.telegram_errors = Counter(
            "between_telegram_errors",
            "Errors from Telegram's API or the network, by kind (the exception's name)",
            ["kind"],
            registry=r,
        )
        self._dispatched_at: float | None = None  # monotonic

    def dispatcher_round(self) -> None:
        """The dispatcher finished a round (it is alive and reaching the database)."""
        self._dispatched_at = time.monotonic()
        self.dispatcher_last_round.set_to_current_time()

    def seconds_since_dispatch(self) -> float | None:
        """Seconds since the dispatcher's last round; None if this process has not had one."""
        if self._dispatched_at is None:
            return None
        return time.monotonic() - self._dispatched_at

    def nudge_sent(self, kind: str, lateness_seconds: float) -> None:
        self.nudges_sent.labels(kind=kind).inc()
        self.nudge_lateness.observe(max(lateness_seconds, 0.0))
        if lateness_seconds > LATE_AFTER_SECONDS:
            self.nudges_late.labels(kind=kind).inc()

    def exposition(self) -> bytes:
        """Everything in Prometheus' text format."""
        return generate_latest(self.registry)
