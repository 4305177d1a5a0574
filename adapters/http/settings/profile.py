"""GET and PATCH /v1/settings/profile: the caller's account profile."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.bootstrap.identity import Identity
from adapters.http.bodies import Envelope, Meta
from adapters.http.identity.schemas import ProfileOut, ProfilePatch
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.postgres.identity.accounts import PostgresAccounts
from application.errors import ValidationFailed
from application.identity.principal import Principal
from application.settings.profile import Profile, ProfileChange
from domain.money import MICROS_PER_UNIT, MINOR_UNIT_EXPONENTS, micros_to_minor_units


def _profile_response(meta: Meta, profile: Profile) -> Envelope[ProfileOut]:
    s = profile.settings
    return Envelope(
        data=ProfileOut(
            account_id=s.account_id, name=s.name, currency=s.currency, timezone=s.timezone,
            default_country=s.default_country,
            low_balance_threshold=micros_to_minor_units(
                profile.low_balance_threshold_micros, s.currency
            ),
            low_balance_threshold_micros=profile.low_balance_threshold_micros,
            trusted=s.trusted, created_at=s.created_at,
        ),
        meta=meta,
    )


class ProfileController(Controller):
    path = "/v1/settings/profile"
    tags = ["Settings"]

    @get("/", operation_id="getProfile", summary="Get the account profile", sync_to_thread=True)
    def get_profile(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity]
    ) -> Envelope[ProfileOut]:
        return _profile_response(
            meta, identity.profiles.profile(principal.account_id)
        )

    @patch("/", operation_id="updateProfile",
           summary="Update the account profile", sync_to_thread=True)
    def update_profile(
        self, meta: RequestMeta, data: JSONBody[ProfilePatch],
        principal: NamedDependency[Principal],
        accounts: Service[PostgresAccounts], identity: Service[Identity],
    ) -> Envelope[ProfileOut]:
        require_permission(principal, "settings.write")
        change = _change(data, accounts.profile(principal.account_id).currency)
        profile = identity.profiles.change(principal.account_id, change)
        accounts.forget_profile(principal.account_id)
        return _profile_response(meta, profile)


def _change(data: ProfilePatch, currency: str) -> ProfileChange:
    unset = msgspec.UNSET
    threshold_micros = None
    if data.low_balance_threshold is not unset and data.low_balance_threshold_micros is not unset:
        raise ValidationFailed(
            "Send low_balance_threshold or low_balance_threshold_micros, not both"
        )
    if data.low_balance_threshold is not unset:
        micros_per_minor_unit = MICROS_PER_UNIT // 10 ** MINOR_UNIT_EXPONENTS[currency]
        threshold_micros = data.low_balance_threshold * micros_per_minor_unit
    elif data.low_balance_threshold_micros is not unset:
        threshold_micros = data.low_balance_threshold_micros
    return ProfileChange(
        name=None if data.name is unset else data.name,
        timezone=None if data.timezone is unset else data.timezone,
        default_country=None if data.default_country in (unset, None)
        else str(data.default_country),
        clear_default_country=data.default_country is None,
        low_balance_threshold_micros=threshold_micros,
    )
