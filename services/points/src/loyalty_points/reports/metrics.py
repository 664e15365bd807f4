"""The finance gauges on /metrics, set by the finance job (reports/jobs.py), never per scrape:
computing them reads every balance."""

from __future__ import annotations

from prometheus_client import Gauge

OUTSTANDING = Gauge(
    "loyalty_points_outstanding",
    "Points members hold, by state: available (above zero), pending, held (for checkouts), "
    "negative (the sum of the balances below zero, <= 0)",
    ["service", "state"],
)
LIABILITY = Gauge(
    "loyalty_points_liability",
    "The liability report's liability: (available + held + pending) x point value x "
    "(1 - breakage rate), in the program's currency",
    ["service", "currency"],
)
BREAKAGE = Gauge(
    "loyalty_points_breakage_ratio",
    "Points expired / (expired + redeemed) over the last 365 days",
    ["service"],
)
REFRESHED = Gauge(
    "loyalty_points_finance_refreshed_timestamp_seconds",
    "When the finance gauges were last computed (Unix time)",
    ["service"],
)
