"""SMPP 3.4 carrier adapter: see carrier.py for the behaviour, text.py for encodings."""

from adapters.carriers.smpp.carrier import SmppCarrier
from adapters.carriers.smpp.config import SmppConfig

__all__ = ["SmppCarrier", "SmppConfig"]
