"""Links back to the product (password reset, Stripe's return pages) use
SMSLEDGER_PUBLIC_URL when set, else the address the API binds; a full URL
configured for one of them wins."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.config.settings import ConfigError, Settings


def test_links_follow_the_bound_address() -> None:
    settings = replace(Settings.from_env({"SMSLEDGER_PORT": "0"}), port=43123)
    assert settings.api_base_url() == "http://127.0.0.1:43123"
    assert settings.password_reset_url() == "http://127.0.0.1:43123/reset-password?token="
    assert settings.checkout_urls() == ("http://127.0.0.1:43123/billing/success",
                                        "http://127.0.0.1:43123/billing/cancel")


@pytest.mark.parametrize(("host", "base"), [
    ("0.0.0.0", "http://127.0.0.1:8000"),
    ("::", "http://[::1]:8000"),
    ("::1", "http://[::1]:8000"),
    ("sms.internal", "http://sms.internal:8000"),
])
def test_a_bind_address_becomes_a_url_host(host: str, base: str) -> None:
    assert Settings.from_env({"SMSLEDGER_HOST": host}).api_base_url() == base


def test_a_public_url_wins_and_full_urls_win_over_it() -> None:
    settings = Settings.from_env({"SMSLEDGER_PUBLIC_URL": "https://sms.example.com/"})
    assert replace(settings, port=1234).password_reset_url() == \
        "https://sms.example.com/reset-password?token="
    configured = Settings.from_env({
        "SMSLEDGER_PUBLIC_URL": "https://sms.example.com",
        "SMSLEDGER_PASSWORD_RESET_URL": "https://app.example.com/reset?t=",
        "SMSLEDGER_CHECKOUT_SUCCESS_URL": "https://app.example.com/paid",
    })
    assert configured.password_reset_url() == "https://app.example.com/reset?t="
    assert configured.checkout_urls() == ("https://app.example.com/paid",
                                          "https://sms.example.com/billing/cancel")


def test_a_public_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="SMSLEDGER_PUBLIC_URL must be an http"):
        Settings.from_env({"SMSLEDGER_PUBLIC_URL": "sms.example.com"})
