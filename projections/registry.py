"""Every read model, by name: what the runner builds and `projections rebuild` names."""

from __future__ import annotations

from projections.base import Projection
from projections.campaign_progress import CampaignProgress
from projections.dlr_stats import DlrStats
from projections.inbound import Inbound
from projections.message_log import MessageLog
from projections.usage import Usage
from projections.wallet_transactions import WalletTransactions

ALL_PROJECTIONS: tuple[Projection, ...] = (
    MessageLog(),
    DlrStats(),
    CampaignProgress(),
    WalletTransactions(),
    Usage(),
    Inbound(),
)

_BY_NAME: dict[str, Projection] = {projection.name: projection for projection in ALL_PROJECTIONS}


def by_name(name: str) -> Projection:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"no projection {name!r}; the projections are: {', '.join(sorted(_BY_NAME))}"
        ) from None
