"""/v1/settings/notifications: which e-mails the account wants."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.bodies import Envelope, Meta
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.settings.schemas import NotificationsOut, NotificationsPatch
from application.identity.principal import Principal
from application.settings.notifications import NotificationService, NotificationSettings


class NotificationsController(Controller):
    path = "/v1/settings/notifications"
    tags = ["Settings"]

    @get("/", operation_id="getNotificationSettings",
         summary="Get notification settings", sync_to_thread=True)
    def get_settings(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        notifications: Service[NotificationService]
    ) -> Envelope[NotificationsOut]:
        settings = notifications.get(principal.account_id)
        return _response(meta, settings)

    @patch("/", operation_id="updateNotificationSettings",
           summary="Update notification settings", sync_to_thread=True)
    def update_settings(
        self,
        meta: RequestMeta,
        data: JSONBody[NotificationsPatch],
        principal: NamedDependency[Principal], notifications: Service[NotificationService],
    ) -> Envelope[NotificationsOut]:
        """Change the fields given; the others keep their values."""
        require_permission(principal, "settings.write")
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        settings = notifications.update(principal.account_id, changes)
        return _response(meta, settings)


def _response(
    meta: Meta, settings: NotificationSettings
) -> Envelope[NotificationsOut]:
    return Envelope(
        data=NotificationsOut(
            low_balance_email=settings.low_balance_email,
            delivery_failure_email=settings.delivery_failure_email,
            webhook_failure_email=settings.webhook_failure_email,
            campaign_completed_email=settings.campaign_completed_email,
            weekly_usage_email=settings.weekly_usage_email,
            recipients=list(settings.recipients),
        ),
        meta=meta,
    )
