"""Dates as TUF writes them: UTC, whole seconds, ``2025-01-31T12:00:00Z``. No IO here."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_time", "parse_time", "utc_now"]


def utc_now() -> datetime:
    """Current UTC time without microseconds (as TUF dates)."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(value: datetime) -> str:
    """``2025-01-31T12:00:00Z``: UTC, seconds, as TUF writes dates."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """The inverse of :func:`format_time` (ValueError on anything else)."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
