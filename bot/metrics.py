"""A tiny in-process metrics registry rendered in the Prometheus text format.

Why not prometheus_client: one process, a dozen series, and no extra dependency. Metric
objects are created once at import (below) so every module uses the same names; values are
plain floats guarded by one lock, cheap enough for the callback hot path.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class _Metric:
    kind = "untyped"

    def __init__(self, registry: Registry, name: str, help: str, labels: Iterable[str]) -> None:
        self.name, self.help, self.labelnames = name, help, tuple(labels)
        self._lock = registry.lock
        self._values: dict[LabelValues, float] = {}

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} needs labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def _labels(self, key: LabelValues, extra: tuple[tuple[str, str], ...] = ()) -> str:
        pairs = list(zip(self.labelnames, key)) + list(extra)
        if not pairs:
            return ""
        return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in pairs) + "}"

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{self._labels(k)} {_fmt(v)}" for k, v in items]


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, registry: Registry, name: str, help: str, labels: Iterable[str]) -> None:
        super().__init__(registry, name, help, labels)
        self._fn: Callable[[], float] | None = None

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def set_function(self, fn: Callable[[], float] | None) -> None:
        """Compute the (unlabelled) value at scrape time, e.g. a database count."""
        self._fn = fn

    def samples(self) -> list[str]:
        if self._fn is not None and not self.labelnames:
            try:
                self.set(self._fn())
            except Exception:  # noqa: BLE001, S110 - a failed scrape-time read must not break /metrics
                pass
        return super().samples()


class Histogram(_Metric):
    kind = "histogram"
    DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

    def __init__(self, registry: Registry, name: str, help: str, labels: Iterable[str],
                 buckets: Iterable[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(registry, name, help, labels)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        with self._lock:
            c = self._counts.get(self._key(labels))
            return c[-1] if c else 0

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        out = []
        for key, counts, total in items:
            for bound, c in zip(self.buckets + (math.inf,), counts):
                out.append(f"{self.name}_bucket{self._labels(key, (('le', _fmt(bound)),))} {c}")
            out.append(f"{self.name}_sum{self._labels(key)} {_fmt(total)}")
            out.append(f"{self.name}_count{self._labels(key)} {counts[-1]}")
        return out


class Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> _Metric:
        existing = self._metrics.get(metric.name)
        if existing is not None:
            if type(existing) is not type(metric) or existing.labelnames != metric.labelnames:
                raise ValueError(f"metric {metric.name} already registered differently")
            return existing
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Iterable[str] = ()) -> Counter:
        return self._add(Counter(self, name, help, labels))  # type: ignore[return-value]

    def gauge(self, name: str, help: str, labels: Iterable[str] = ()) -> Gauge:
        return self._add(Gauge(self, name, help, labels))  # type: ignore[return-value]

    def histogram(self, name: str, help: str, labels: Iterable[str] = (),
                  buckets: Iterable[float] = Histogram.DEFAULT_BUCKETS) -> Histogram:
        return self._add(Histogram(self, name, help, labels, buckets))  # type: ignore[return-value]

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        for m in list(self._metrics.values()):
            lines.append(f"# HELP {m.name} {m.help}")
            lines.append(f"# TYPE {m.name} {m.kind}")
            lines.extend(m.samples())
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Channels (bot/wecom.py, bot/dingtalk.py)
MESSAGES_RECEIVED = REGISTRY.counter(
    "salesbot_messages_received_total", "Inbound messages accepted and stored in the inbox.", ("channel",))
MESSAGES_DUPLICATE = REGISTRY.counter(
    "salesbot_messages_duplicate_total", "Inbound messages dropped as redeliveries.", ("channel",))
MESSAGES_REJECTED = REGISTRY.counter(
    "salesbot_messages_rejected_total", "Callbacks refused (bad signature, size, XML, time).",
    ("channel", "reason"))
ACK_SECONDS = REGISTRY.histogram(
    "salesbot_ack_seconds", "Time from receiving a callback to acknowledging it.", ("channel",))
PUSHES_SENT = REGISTRY.counter(
    "salesbot_pushes_sent_total", "Outbound messages delivered to the platform API.", ("channel",))
PUSHES_FAILED = REGISTRY.counter(
    "salesbot_pushes_failed_total", "Outbound messages given up after retries.", ("channel",))
PUSHES_MERGED = REGISTRY.counter(
    "salesbot_pushes_merged_total", "Outbound messages merged into another to respect rate limits.",
    ("channel",))
PUSHES_THROTTLED = REGISTRY.counter(
    "salesbot_pushes_throttled_total", "Platform calls refused for a rate limit and sent again later.",
    ("channel",))
TOKEN_REFRESHES = REGISTRY.counter(
    "salesbot_token_refreshes_total", "Access tokens fetched from the platform.", ("channel",))
STREAM_CONNECTED = REGISTRY.gauge(
    "salesbot_stream_connected", "1 while the DingTalk stream websocket is open.", ("channel",))
STREAM_RECONNECTS = REGISTRY.counter(
    "salesbot_stream_reconnects_total", "DingTalk stream (re)connection attempts.", ("channel",))

# Core (bot/dispatch.py, speech/): the owners call these.
MESSAGES_PROCESSED = REGISTRY.counter(
    "salesbot_messages_processed_total", "Inbox messages handled and answered.", ("channel",))
MESSAGES_FAILED = REGISTRY.counter(
    "salesbot_messages_failed_total", "Inbox messages whose handler raised.", ("channel",))
INBOX_BACKLOG = REGISTRY.gauge(
    "salesbot_inbox_backlog", "Inbox messages stored but not yet processed.")
REPLIES_UNDELIVERED = REGISTRY.gauge(
    "salesbot_replies_undelivered", "Answers stored but not yet taken by their platform (retried).")
ASR_SECONDS = REGISTRY.counter(
    "salesbot_asr_seconds_total", "Wall seconds spent transcribing voice notes.")
ASR_QUEUE_DEPTH = REGISTRY.gauge(
    "salesbot_asr_queue_depth", "Voice notes waiting for a transcription worker.")
