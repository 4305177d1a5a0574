"""Sign-in's part of the composition root: users, sessions, passwords, mail,
OIDC, the profile and the operators' account tools, built from settings."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from adapters.clock import SystemClock
from adapters.config.identity import IdentitySettings
from adapters.identity.jwt_tokens import JwtTokens, signing_key_source
from adapters.identity.oidc import HttpOidcProvider
from adapters.identity.passwords import Argon2Hasher, HashSlots
from adapters.mail.outbox import OutboxMailer
from adapters.mail.smtp import SmtpMailer
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.identity.login_failures import PostgresLoginFailures
from adapters.postgres.identity.oidc_logins import PostgresOidcLogins
from adapters.postgres.identity.sessions import PostgresResetTokens, PostgresSessions, SessionStates
from adapters.postgres.identity.users import PostgresUsers
from adapters.postgres.settings.account_settings import PostgresAccountSettings
from application.identity.account_admin import AccountAdminService
from application.identity.oidc import OidcSignIn
from application.identity.passwords import PasswordService, ResetPolicy
from application.identity.ports import Mailer
from application.identity.sessions import SessionPolicy, SessionService
from application.ledger.wallets import WalletService
from application.settings.profile import ProfileService


@dataclass
class Identity:
    settings: IdentitySettings
    hash_slots: HashSlots
    users: PostgresUsers
    sessions: SessionService
    passwords: PasswordService
    tokens: JwtTokens
    session_states: SessionStates
    mailer: Mailer
    oidc: OidcSignIn | None
    profiles: ProfileService
    account_settings: PostgresAccountSettings
    account_admin: AccountAdminService


def build_identity(
    settings: IdentitySettings,
    pool: ConnectionPool,
    wallets: WalletService,
    accounts: PostgresAccounts,
    reset_url: str,
) -> Identity:
    clock = SystemClock()
    users = PostgresUsers(pool)
    session_states = SessionStates(pool)
    session_store = PostgresSessions(pool, session_states)
    hash_slots = HashSlots(settings.max_concurrent_hashes, settings.hash_wait_s)
    hasher = Argon2Hasher(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
        slots=hash_slots,
    )
    failures = PostgresLoginFailures(pool)
    tokens = JwtTokens(signing_key_source(settings), settings.jwt_issuer,
                       settings.access_token_ttl_s)
    mailer: Mailer = SmtpMailer(settings.smtp) if settings.smtp else OutboxMailer(pool)
    sessions = SessionService(
        users, session_store, hasher, tokens, wallets, clock,
        SessionPolicy(
            refresh_ttl_s=settings.refresh_token_ttl_s,
            max_failed_logins=settings.max_failed_logins,
            lockout_s=settings.lockout_s,
        ),
        failures,
    )
    passwords = PasswordService(
        users, session_store, PostgresResetTokens(pool), hasher, mailer, clock,
        ResetPolicy(settings.password_reset_ttl_s, reset_url), sessions,
        failures,
    )
    oidc = None
    if settings.oidc is not None:
        oidc = OidcSignIn(
            HttpOidcProvider(settings.oidc), PostgresOidcLogins(pool), users, sessions, clock,
            settings.oidc.default_currency,
        )
    account_settings = PostgresAccountSettings(pool)
    return Identity(
        settings=settings,
        hash_slots=hash_slots,
        users=users,
        sessions=sessions,
        passwords=passwords,
        tokens=tokens,
        session_states=session_states,
        mailer=mailer,
        oidc=oidc,
        profiles=ProfileService(account_settings, wallets),
        account_settings=account_settings,
        account_admin=AccountAdminService(account_settings, wallets, accounts.forget_profile),
    )
