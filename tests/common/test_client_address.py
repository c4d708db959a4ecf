"""The client's address: REMOTE_ADDR unless proxies are trusted, and then only the entry
the last trusted proxy hop appended, counted from the right of X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from common.client_address import client_address

PROXY = "10.0.0.5"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_with_no_trusted_proxy_a_forged_header_changes_nothing(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_one_trusted_proxy_gives_the_right_most_entry(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    forged = request_from(PROXY, "203.0.113.9, 198.51.100.7")
    assert client_address(forged) == "198.51.100.7"
    assert client_address(request_from(PROXY, "198.51.100.7")) == "198.51.100.7"


def test_two_trusted_proxies_give_the_second_entry_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = request_from(PROXY, "203.0.113.9, 198.51.100.7, 10.0.0.9")
    assert client_address(request) == "198.51.100.7"


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address"])
def test_without_a_usable_header_the_peer_is_the_client(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request_from("198.51.100.7", forwarded)) == "198.51.100.7"


def test_a_private_client_address_is_kept_as_given(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request_from(PROXY, "192.168.1.20")) == "192.168.1.20"


def test_the_proxy_count_is_read_from_the_environment(monkeypatch):
    from config import env

    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "-1")
    with pytest.raises(env.ConfigError):
        env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)


@pytest.mark.parametrize("value", ["5", "5/", "0/h", "x/h", "5/0h", "5/w"])
def test_a_malformed_rate_stops_start_up(monkeypatch, value):
    from config import env

    monkeypatch.setenv("RATE_X", value)
    with pytest.raises(env.ConfigError, match="RATE_X"):
        env.rate("RATE_X", "5/h")


def test_an_api_rate_takes_no_multiple(monkeypatch):
    from config import env

    monkeypatch.setenv("RATE_X", "10/15m")
    assert env.rate("RATE_X", "5/h") == "10/15m"
    with pytest.raises(env.ConfigError):
        env.rate("RATE_X", "5/h", multiples=False)


def test_a_request_without_an_address_has_none(settings):
    from django.http import HttpRequest

    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(HttpRequest()) == ""
