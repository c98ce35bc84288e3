"""Prometheus metrics of the sidecar, in a registry of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from connectors.retry import RetryStats


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "escalator_polls", "Polls of a source", ["source", "outcome"], registry=r
        )
        self.tickets_seen = Counter(
            "escalator_tickets_seen", "Tickets pulled", ["source"], registry=r
        )
        self.actions = Counter(
            "escalator_actions", "Actions by outcome", ["source", "kind", "status"], registry=r
        )
        self.quarantined = Counter(
            "escalator_quarantined_records",
            "Records that could not be read",
            ["source"],
            registry=r,
        )
        self.in_quarantine = Gauge(
            "escalator_quarantine_size",
            "Records in quarantine now (retried after each reload and hourly)",
            ["source"],
            registry=r,
        )
        self.incremental_missed = Counter(
            "escalator_incremental_plan_missed",
            "Tickets the hourly full re-plan found a decision for that planning only changed or "
            "due tickets had not (should stay 0)",
            registry=r,
        )
        self.mapping_warnings = Counter(
            "escalator_mapping_warnings",
            "Values understood only by falling back (e.g. an unmapped priority)",
            ["source", "field"],
            registry=r,
        )
        self.webhooks = Counter(
            "escalator_webhooks", "Webhook deliveries", ["source", "outcome"], registry=r
        )
        self.clock_lag = Histogram(
            "escalator_clock_lag_seconds",
            "Delay from an action's due time to its write",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.last_poll = Gauge(
            "escalator_last_successful_poll_timestamp_seconds",
            "When each source was last polled successfully",
            ["source"],
            registry=r,
        )
        self.open_tickets = Gauge("escalator_tickets_tracked", "Tickets in the cache", registry=r)
        self.config_reload_rejected = Counter(
            "escalator_config_reload_rejected",
            "Config reloads refused as invalid (the old config is kept)",
            registry=r,
        )
        self._retry_stats: Callable[[], Mapping[str, RetryStats]] = dict
        r.register(_RetryCollector(self._current_retry_stats))

    def _current_retry_stats(self) -> Mapping[str, RetryStats]:
        return self._retry_stats()

    def track_retries(self, stats: Callable[[], Mapping[str, RetryStats]]) -> None:
        self._retry_stats = stats

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RetryCollector:
    """API calls, 429s and retry waits, read from each source's RetryPolicy at scrape time."""

    def __init__(self, stats: Callable[[], Mapping[str, RetryStats]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("escalator_api_calls", "API calls by source", labels=["source"])
        limited = CounterMetricFamily(
            "escalator_rate_limited", "429 answers by source", labels=["source"]
        )
        retries = CounterMetricFamily("escalator_retries", "Retries by source", labels=["source"])
        waited = CounterMetricFamily(
            "escalator_retry_wait_seconds", "Seconds spent waiting to retry", labels=["source"]
        )
        budget = GaugeMetricFamily(
            "escalator_api_budget_per_minute",
            "Requests a minute the sidecar allows itself per source",
            labels=["source"],
        )
        used = GaugeMetricFamily(
            "escalator_api_requests_last_minute",
            "Requests sent in the last minute per source, against the budget",
            labels=["source"],
        )
        paced = CounterMetricFamily(
            "escalator_api_budget_wait_seconds",
            "Seconds spent waiting for the request budget",
            labels=["source"],
        )
        for source, s in self._stats().items():
            calls.add_metric([source], s.calls)
            limited.add_metric([source], s.rate_limited)
            retries.add_metric([source], s.retries)
            waited.add_metric([source], s.waited_seconds)
            if s.budget is not None:
                budget.add_metric([source], s.budget.per_minute)
                used.add_metric([source], s.budget.used_last_minute())
                paced.add_metric([source], s.budget.waited_seconds)
        yield from (calls, limited, retries, waited, budget, used, paced)
