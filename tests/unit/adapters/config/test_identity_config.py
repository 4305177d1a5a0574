"""Sign-in settings from the environment: defaults and refusals."""

from __future__ import annotations

import pytest

from adapters.config.identity import cores
from adapters.config.settings import ConfigError, Settings


def test_defaults_match_the_documented_session_policy() -> None:
    identity = Settings.from_env({}).identity
    assert identity.access_token_ttl_s == 15 * 60
    assert identity.refresh_token_ttl_s == 7 * 86_400
    assert identity.max_failed_logins == 5
    assert identity.smtp is None
    assert identity.oidc is None
    assert identity.trusted_proxies == ()
    assert identity.max_concurrent_hashes == cores()
    assert identity.sign_in_attempts_per_min == 20
    assert identity.failed_key_auths_per_min == 60


def test_trusted_proxies_are_addresses_or_networks() -> None:
    identity = Settings.from_env(
        {"SMSLEDGER_TRUSTED_PROXIES": " 10.0.0.1, 172.16.0.0/12 ,2001:db8::/32"}
    ).identity
    assert [str(n) for n in identity.trusted_proxies] == [
        "10.0.0.1/32", "172.16.0.0/12", "2001:db8::/32"]


def test_smtp_and_oidc_are_configured_from_the_environment() -> None:
    identity = Settings.from_env({
        "SMSLEDGER_SMTP_HOST": "mail.example.com", "SMSLEDGER_SMTP_FROM": "a@example.com",
        "SMSLEDGER_SMTP_PORT": "2525",
        **{f"SMSLEDGER_OIDC_{n}": f"https://idp.example/{n.lower()}" for n in (
            "ISSUER", "AUTHORIZE_URL", "TOKEN_URL", "JWKS_URL", "CLIENT_ID",
            "CLIENT_SECRET", "REDIRECT_URI")},
    }).identity
    assert identity.smtp is not None and identity.smtp.port == 2525
    assert identity.oidc is not None and identity.oidc.scopes == "openid email profile"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMSLEDGER_OIDC_ISSUER": "https://idp.example"}, "SMSLEDGER_OIDC_TOKEN_URL"),
        ({"SMSLEDGER_SMTP_HOST": "mail.example.com"}, "SMSLEDGER_SMTP_FROM"),
        ({"SMSLEDGER_JWT_PRIVATE_KEY_FILE": "/no/such/key.pem"},
         "SMSLEDGER_JWT_PRIVATE_KEY_FILE"),
        ({"SMSLEDGER_JWT_PRIVATE_KEY": "not a pem"}, "SMSLEDGER_JWT_PRIVATE_KEY"),
        ({"SMSLEDGER_LOCKOUT_S": "0"}, "SMSLEDGER_LOCKOUT_S"),
        ({"SMSLEDGER_TRUSTED_PROXIES": "10.0.0.1,proxy.local"}, "SMSLEDGER_TRUSTED_PROXIES"),
        ({"SMSLEDGER_MAX_CONCURRENT_HASHES": "0"}, "SMSLEDGER_MAX_CONCURRENT_HASHES"),
        ({"SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": "0"}, "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
