"""Sends to contacts (seed 002): /v1/sms/send and /v1/sms/bulk with groupId,
groupIds, contactIds or sendToAllContacts, alone or beside explicit numbers.

The audience becomes one list without repeated numbers, each contact's
fields its template variables, and goes out as one bulk (at most 10,000
recipients; larger audiences are for campaigns). The answer counts what was
sent, what was invalid and what was opted out.
"""

from __future__ import annotations

import msgspec

from adapters.http.bodies import Envelope, Meta
from adapters.http.sms.audience import HasAudience, audience_of
from adapters.http.sms.schemas import BulkRejection
from application.identity.principal import Principal
from application.sending.audience import AudienceResolver
from application.sending.outgoing import Outgoing
from application.sending.send import BulkRecipient, MessagingService
from domain.errors import RecipientOptedOut
from domain.money import micros_to_minor_units_ceiling


class AudienceSendOut(msgspec.Struct, kw_only=True):
    batch_id: str
    status: str
    recipientsSent: int  # noqa: N815 - seed 002's field names
    invalidRecipients: list[BulkRejection]  # noqa: N815
    optedOut: int  # noqa: N815
    optedOutRecipients: list[str]  # noqa: N815
    duplicatesRemoved: int  # noqa: N815
    cost_estimate: int
    cost_estimate_micros: int
    currency: str


def wants_audience(data: HasAudience) -> bool:
    return bool(data.groupId or data.groupIds or data.contactIds or data.sendToAllContacts)


def send_to_audience(
    meta: Meta,
    audience: AudienceResolver,
    messaging: MessagingService,
    principal: Principal,
    data: HasAudience,
    explicit: list[BulkRecipient],
    outgoing: Outgoing,
) -> Envelope[AudienceSendOut]:
    chosen = audience.resolve(principal.account_id, explicit, audience_of(data))
    accepted = messaging.send_bulk(outgoing.to_many(chosen.recipients))
    opted_out = [r.to for r in accepted.rejections if r.code == RecipientOptedOut.code]
    return Envelope(
        data=AudienceSendOut(
            batch_id=str(accepted.batch_id),
            status=accepted.status,
            recipientsSent=accepted.accepted,
            invalidRecipients=[
                BulkRejection(r.index, r.to, r.code, r.reason)
                for r in accepted.rejections if r.code != RecipientOptedOut.code
            ],
            optedOut=len(opted_out),
            optedOutRecipients=opted_out,
            duplicatesRemoved=chosen.duplicates_removed,
            cost_estimate=micros_to_minor_units_ceiling(accepted.cost_micros, accepted.currency),
            cost_estimate_micros=accepted.cost_micros,
            currency=accepted.currency,
        ),
        meta=meta,
    )
