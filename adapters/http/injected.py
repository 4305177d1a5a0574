"""How a handler asks for a service, `messaging: Service[MessagingService]`,
and for its answer's meta block, `meta: RequestMeta`. The parameter's name
is the provider's (adapters/http/services.py)."""

from __future__ import annotations

from typing import Annotated, TypeAlias, TypeVar

from litestar.di import Dependency
from litestar.params import SkipValidationMarker

from adapters.http.bodies import Meta

T = TypeVar("T")

# Not validated per request: the value comes from the composition root, not
# from a caller, and a test double need not subclass the service it stands for.
Service: TypeAlias = Annotated[T, Dependency(kind="named"), SkipValidationMarker()]
# Built from the request by the server itself: nothing a caller sent to validate.
RequestMeta: TypeAlias = Annotated[Meta, Dependency(kind="named"), SkipValidationMarker()]
