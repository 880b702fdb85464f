"""Health documents and Prometheus text from the relay's figures (pure)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relay.core.channels import Cluster


@dataclass(slots=True)
class ClusterCounters:
    """Counters one cluster accumulates over the process's life."""

    messages_in: int = 0
    events_out: int = 0
    events_conflated: int = 0
    slow_consumer_disconnects: int = 0
    upstream_errors: int = 0
    last_connected_at: float | None = None
    last_message_at: float | None = None


@dataclass(frozen=True, slots=True)
class ClusterReport:
    """A snapshot of one cluster for the health endpoints."""

    total_clients: int
    upstream_connections: int
    active_subscriptions: int
    connection_state: str
    reconnect_attempts: int
    last_error: str | None
    counters: ClusterCounters
    healthy: bool
    problem: str | None
    waiting_for_capacity: bool = False


def iso(timestamp: float | None) -> str | None:
    """`timestamp` (epoch seconds) as an ISO-8601 UTC string with milliseconds."""
    if timestamp is None:
        return None
    millis = int(timestamp * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) + f".{millis:03d}Z"


def basic_health(started_at: float, now: float) -> dict[str, Any]:
    """The body of `GET /api/health`."""
    return {"status": "ok", "uptime_s": round(now - started_at, 3), "timestamp": iso(now)}


def _cluster_json(report: ClusterReport) -> dict[str, Any]:
    counters = report.counters
    return {
        "healthy": report.healthy,
        "totalClients": report.total_clients,
        "upstreamConnections": report.upstream_connections,
        "activeSubscriptions": report.active_subscriptions,
        "connectionState": report.connection_state,
        "reconnectAttempts": report.reconnect_attempts,
        "lastError": report.last_error,
        "lastConnectedAt": iso(counters.last_connected_at),
        "lastMessageAt": iso(counters.last_message_at),
        "messagesIn": counters.messages_in,
        "eventsOut": counters.events_out,
        "eventsConflated": counters.events_conflated,
        "slowConsumerDisconnects": counters.slow_consumer_disconnects,
        "upstreamErrors": counters.upstream_errors,
    }


def ws_health(
    reports: Mapping[Cluster, ClusterReport],
    *,
    now: float,
    max_upstream_connections: int,
    max_clients: int,
    source: str = "massive",
    max_channels_per_client: int | None = None,
    waiting_to_authenticate: int = 0,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of `GET /api/ws-health`: 503 when any cluster is unhealthy.

    `source` is where the data comes from: `massive`, or `simulator` (random walks, not market data).
    """
    warnings = [report.problem for report in reports.values() if report.problem]
    for cluster, report in reports.items():
        if report.waiting_for_capacity:
            warnings.append(
                f"{cluster}: no upstream socket: MAX_WS_CONNECTIONS={max_upstream_connections} "
                "is used by other clusters"
            )
    if source == "simulator":
        warnings.append("simulated data: no MASSIVE_API_KEY (or RELAY_SIMULATE=1), prices are not Massive's")
    healthy = all(report.healthy for report in reports.values())
    limits: dict[str, int] = {"maxUpstreamConnections": max_upstream_connections, "maxClients": max_clients}
    if max_channels_per_client is not None:
        limits["maxChannelsPerClient"] = max_channels_per_client
    body = {
        "healthy": healthy,
        "source": source,
        "timestamp": iso(now),
        "metrics": {str(cluster): _cluster_json(report) for cluster, report in reports.items()},
        "waitingToAuthenticate": waiting_to_authenticate,
        "warnings": warnings,
        "limits": limits,
    }
    return (200 if healthy else 503), body


_METRICS: tuple[tuple[str, str, str], ...] = (
    ("relay_clients", "gauge", "Connected clients"),
    ("relay_upstream_connections", "gauge", "Open upstream sockets"),
    ("relay_active_subscriptions", "gauge", "Distinct channels held by clients"),
    ("relay_upstream_connected", "gauge", "1 when the upstream socket is authenticated"),
    ("relay_healthy", "gauge", "1 when the cluster is healthy"),
    ("relay_reconnect_attempts", "gauge", "Reconnect attempts since the last healthy connection"),
    ("relay_messages_in_total", "counter", "Frames received from the upstream"),
    ("relay_events_out_total", "counter", "Events delivered to clients"),
    ("relay_events_conflated_total", "counter", "Events replaced by newer ones for lagging clients"),
    ("relay_slow_consumer_disconnects_total", "counter", "Clients closed for falling too far behind"),
    ("relay_upstream_errors_total", "counter", "Error statuses from the upstream (e.g. a refused channel)"),
)


def prometheus(reports: Mapping[Cluster, ClusterReport], *, max_upstream_connections: int) -> str:
    """The same figures in Prometheus' text exposition format."""
    values: dict[str, dict[Cluster, float]] = {name: {} for name, _, _ in _METRICS}
    for cluster, report in reports.items():
        values["relay_clients"][cluster] = report.total_clients
        values["relay_upstream_connections"][cluster] = report.upstream_connections
        values["relay_active_subscriptions"][cluster] = report.active_subscriptions
        values["relay_upstream_connected"][cluster] = int(report.connection_state == "connected")
        values["relay_healthy"][cluster] = int(report.healthy)
        values["relay_reconnect_attempts"][cluster] = report.reconnect_attempts
        values["relay_messages_in_total"][cluster] = report.counters.messages_in
        values["relay_events_out_total"][cluster] = report.counters.events_out
        values["relay_events_conflated_total"][cluster] = report.counters.events_conflated
        values["relay_slow_consumer_disconnects_total"][cluster] = report.counters.slow_consumer_disconnects
        values["relay_upstream_errors_total"][cluster] = report.counters.upstream_errors
    lines: list[str] = []
    for name, kind, help_text in _METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for cluster, value in values[name].items():
            lines.append(f'{name}{{cluster="{cluster}"}} {value:g}')
    lines.append("# HELP relay_max_upstream_connections MAX_WS_CONNECTIONS")
    lines.append("# TYPE relay_max_upstream_connections gauge")
    lines.append(f"relay_max_upstream_connections {max_upstream_connections}")
    return "\n".join(lines) + "\n"
