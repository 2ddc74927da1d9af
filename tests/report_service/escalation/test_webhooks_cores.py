"""The pure parts of the webhooks: the retry schedule, URL policy and subscriptions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from report_service.errors import ConfigError
from report_service.escalation.webhooks.errors import InvalidWebhook
from report_service.escalation.webhooks.payload import check_subscription, subscribed
from report_service.escalation.webhooks.schedule import (
    DEFAULT_SCHEDULE_S,
    JITTER,
    MAX_RETRY_AFTER_S,
    next_attempt_at,
)
from report_service.escalation.webhooks.urls import check_url
from report_service.settings import Settings, load_settings

schedules = st.lists(st.floats(0, 10**6), min_size=0, max_size=12).map(tuple)


@given(
    now=st.integers(0, 2**45),
    schedule=schedules,
    attempts=st.integers(-1, 14),
    u=st.floats(0, 1, exclude_max=True),
    retry_after=st.none() | st.floats(0, 10**7),
)
def test_the_next_attempt_follows_the_schedule_within_the_jitter(
    now: int, schedule: tuple[float, ...], attempts: int, u: float, retry_after: float | None
) -> None:
    due = next_attempt_at(now, attempts, schedule, lambda: u, retry_after_s=retry_after)
    if not 1 <= attempts <= len(schedule):
        assert due is None  # used up: dead letter
        return
    assert due is not None
    base = schedule[attempts - 1] * 1000
    low = base * (1 - JITTER) - 1
    high = base * (1 + JITTER) + 1
    if retry_after is not None:
        low = max(low, min(retry_after, MAX_RETRY_AFTER_S) * 1000 - 1)
        high = max(high, min(retry_after, MAX_RETRY_AFTER_S) * 1000 + 1)
    assert low <= due - now <= high


def test_the_default_schedule_is_standard_webhooks_and_the_setting() -> None:
    assert DEFAULT_SCHEDULE_S == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert Settings(environment="development").webhook_retry_schedule_s == DEFAULT_SCHEDULE_S
    times = [next_attempt_at(0, n, DEFAULT_SCHEDULE_S, lambda: 0.5) for n in range(1, 9)]
    assert times == [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000, None]


def test_a_negative_or_huge_retry_delay_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRANKLY_WEBHOOK_RETRY_SCHEDULE_S", "[5, -1]")
    with pytest.raises(ConfigError, match="webhook_retry_schedule_s"):
        load_settings()
    monkeypatch.setenv("FRANKLY_WEBHOOK_RETRY_SCHEDULE_S", "[1e9]")
    with pytest.raises(ConfigError, match="webhook_retry_schedule_s"):
        load_settings()


@pytest.mark.parametrize(
    "url",
    [
        "https://tns.example.org/hook",
        "https://tns.example.org:8443/a?b=c",
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]:80/x",
    ],
)
def test_acceptable_urls(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://tns.example.org/hook",  # http beyond loopback
        "ftp://example.org/x",
        "file:///etc/passwd",
        "https://user:pw@example.org/x",
        "https://example.org/x#frag",
        "https:///nohost",
        "https://exa mple.org/",
        "https://example.org:99999/",
        "https://example.org/" + "a" * 2048,
        "javascript:alert(1)",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(InvalidWebhook):
        check_url(url)


def test_plain_http_beyond_loopback_only_when_allowed() -> None:
    assert check_url("http://10.0.0.5/hook", allow_http=True) == "http://10.0.0.5/hook"


def test_subscriptions() -> None:
    assert subscribed(("item.decided",), "item.decided")
    assert not subscribed(("item.decided",), "item.claimed")
    assert subscribed(("appeal.*",), "appeal.decided")
    assert not subscribed(("appeal.*",), "appealx.decided")
    assert subscribed(("*",), "ncmec.submitted")
    assert not subscribed(("*",), "webhook.test")  # only ever sent by `test`
    for bad in ("", "item", "ITEM.decided", "item.*.x", "**", "item.decided,x"):
        with pytest.raises(InvalidWebhook):
            check_subscription(bad)
