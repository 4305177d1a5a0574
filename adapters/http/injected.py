"""How a handler asks for a service: `messaging: Service[MessagingService]`.
The parameter's name is the provider's (adapters/http/services.py)."""

from __future__ import annotations

from typing import Annotated, TypeAlias, TypeVar

from litestar.di import Dependency
from litestar.params import SkipValidationMarker

T = TypeVar("T")

# Not validated per request: the value comes from the composition root, not
# from a caller, and a test double need not subclass the service it stands for.
Service: TypeAlias = Annotated[T, Dependency(kind="named"), SkipValidationMarker()]
