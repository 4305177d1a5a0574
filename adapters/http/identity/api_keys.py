"""GET/POST/DELETE /v1/settings/api-keys: an account's API keys.

The secret is in the creation's answer only; it is stored as a hash and never
shown again. Managing keys needs the settings.write permission, and a key can
only grant what its creator holds (a test key creates test keys only).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import Envelope, Page, Pagination
from adapters.http.identity.schemas import (
    ApiKeyOut,
    CreateApiKeyRequest,
    CreatedApiKeyOut,
    RevokedApiKeyOut,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission, requires_permissions
from application.identity.api_keys import ApiKeyService, CreateKey, KeyInfo
from application.identity.principal import Principal
from domain.api_keys import MAX_ACTIVE_KEYS_PER_ACCOUNT

MANAGE_PERMISSION = "settings.write"


def _out(info: KeyInfo) -> ApiKeyOut:
    return ApiKeyOut(
        id=str(info.id), name=info.name, key=info.api_key,
        mode="test" if info.sandbox else "live", sandbox=info.sandbox,
        permissions=list(info.permissions), created_at=info.created_at,
    )


class ApiKeysController(Controller):
    path = "/v1/settings/api-keys"
    tags = ["Settings"]

    @get("/", operation_id="listApiKeys", summary="List API keys", sync_to_thread=True)
    def list_keys(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        api_keys: Service[ApiKeyService],
    ) -> Page[ApiKeyOut]:
        require_permission(principal, MANAGE_PERMISSION)
        keys = [_out(info) for info in api_keys.list(principal.account_id)]
        return Page(
            data=keys,
            pagination=Pagination(len(keys), MAX_ACTIVE_KEYS_PER_ACCOUNT, False, None),
            meta=meta,
        )

    @post("/", operation_id="createApiKey",
          summary="Create an API key (secret shown once)", status_code=201, sync_to_thread=True)
    def create_key(
        self, meta: RequestMeta, data: JSONBody[CreateApiKeyRequest],
        principal: NamedDependency[Principal], api_keys: Service[ApiKeyService],
    ) -> Envelope[CreatedApiKeyOut]:
        require_permission(principal, MANAGE_PERMISSION)
        created = api_keys.create(CreateKey(
            account_id=principal.account_id, name=data.name,
            permissions=tuple(data.permissions), mode=data.mode,
            creator_permissions=principal.permissions, creator_sandbox=principal.sandbox,
        ))
        # The key could grant only what its creator holds: so must a replay.
        requires_permissions(created.info.permissions)
        shown = _out(created.info)
        return Envelope(
            data=CreatedApiKeyOut(
                id=shown.id, name=shown.name, key=shown.key, secret=created.api_secret,
                mode=shown.mode, sandbox=shown.sandbox, permissions=shown.permissions,
                created_at=shown.created_at,
            ),
            meta=meta,
        )

    @delete("/{key_id:uuid}", operation_id="revokeApiKey",
            summary="Revoke an API key", status_code=200,
            sync_to_thread=True)
    def revoke_key(
        self, meta: RequestMeta, key_id: FromPath[UUID],
        principal: NamedDependency[Principal], api_keys: Service[ApiKeyService],
    ) -> Envelope[RevokedApiKeyOut]:
        require_permission(principal, MANAGE_PERMISSION)
        api_keys.revoke(principal.account_id, key_id)
        return Envelope(
            data=RevokedApiKeyOut(id=str(key_id), revoked=True),
            meta=meta,
        )
