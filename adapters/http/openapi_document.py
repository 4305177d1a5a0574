"""Finishing Litestar's OpenAPI document so that it tells the truth.

- Schemas: every request and response struct is described by msgspec itself,
  the library that validates and encodes it, so limits, nullability and
  `additionalProperties: false` (forbid_unknown_fields) are exactly what the
  server enforces.
- Errors: Litestar documents its own error shape; ours is the envelope of
  adapters/http/errors.py, so every error response, and the `default` one,
  refer to ErrorResponse.
- Security: a route that depends on `principal` (adapters/http/middleware/auth.py)
  requires credentials; the document says which, from the route itself, so a
  new resource route is documented as secured without anyone remembering to.
- Form bodies: routes that also take `application/x-www-form-urlencoded`
  (adapters/http/form_bodies.py, the OAuth token route) say so.
- Idempotency-Key: every authenticated POST takes it (adapters/http/
  idempotency.py), so each says so, with its 409 and 422 answers.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from adapters.http.bodies import ErrorResponse
from adapters.http.form_bodies import FORM_PATHS, FORM_TYPE
from adapters.http.identity.schemas import AccessTokenRequest
from adapters.http.middleware.idempotency import MAX_KEY_LENGTH

REF_TEMPLATE = "#/components/schemas/{name}"
ERROR_REF = {"$ref": REF_TEMPLATE.format(name="ErrorResponse")}
API_SECURITY: list[dict[str, list[str]]] = [
    {"ApiKey": [], "ApiSecret": []},
    {"ApiKey": []},
    {"Bearer": []},
]
CARRIER_SECURITY: list[dict[str, list[str]]] = [{"CarrierSecret": []}]
# Routes that read their body themselves, because they accept two encodings.
RAW_BODIES: dict[str, type[msgspec.Struct]] = {"createAccessToken": AccessTokenRequest}
# Routes that check a credential of their own, not the API's.
CARRIER_OPERATIONS = frozenset({"receiveCarrierReceipt", "receiveCarrierInbound"})
ERROR_DESCRIPTIONS = {
    "400": "VALIDATION_ERROR or another 400 code of the error table",
    "401": "UNAUTHORIZED: missing, invalid or expired credentials",
    "403": "FORBIDDEN: the credential lacks the permission",
    "404": "NOT_FOUND: no such resource in this account",
    "409": "CONFLICT: a state conflict, or a request with this Idempotency-Key is still"
    " in progress",
    "413": "PAYLOAD_TOO_LARGE: the body is over the configured size",
    "422": "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used with a different request;"
    " or another 422 code of the error table",
    "429": "RATE_LIMITED (see Retry-After) or ACCOUNT_LOCKED",
    "503": "SERVICE_UNAVAILABLE: every password-hashing slot is busy, or the database"
    " cannot be reached (see Retry-After)",
    "default": "An error, in the envelope of the error table",
}
IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key with the same request replays the"
    " first answer (with `Idempotent-Replayed: true`) to a caller passing the same"
    " permission checks; with a different request it is 422 IDEMPOTENCY_KEY_REUSED,"
    " and 409 CONFLICT while the first request is still running. Per account and mode,"
    " kept at least 24 hours; a 5xx, 401, 403 or 429 is not kept.",
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
}
# Unauthenticated routes limited per client address (429), and the routes
# that hash a password, which a busy process answers 503.
ADDRESS_LIMITED_OPERATIONS = frozenset(
    {"login", "register", "forgotPassword", "changePassword", "createAccessToken"}
)
HASHING_OPERATIONS = frozenset({"login", "register", "changePassword", "resetPassword"})
# (path as in the document, lower-case method, handler)
Handled = tuple[str, str, HTTPRouteHandler]


def operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(path as in the document, lower-case method, handler) of every
    documented operation."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method in ("OPTIONS", "HEAD") or not handler.resolve_include_in_schema():
                continue
            yield route.path_format or "/", method.lower(), handler


def is_authenticated(handler: HTTPRouteHandler) -> bool:
    """`principal` is provided app-wide, but resolved only for a handler that
    declares it: the declaration is what makes a route authenticated."""
    return "principal" in handler.parsed_fn_signature.parameters


def finish_document(app: Litestar, document: dict[str, Any]) -> dict[str, Any]:
    handlers = list(operations(app))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_msgspec_components(handlers))
    _use_msgspec_names(document, handlers)
    for path, method, handler in handlers:
        operation = document["paths"][path][method]
        _finish_operation(operation, path, method, handler)
    return document


def _finish_operation(
    operation: dict[str, Any], path: str, method: str, handler: HTTPRouteHandler
) -> None:
    operation_id = operation.get("operationId")
    if "security" not in operation:
        if is_authenticated(handler):
            operation["security"] = API_SECURITY
        elif operation_id in CARRIER_OPERATIONS:
            operation["security"] = CARRIER_SECURITY
    if method == "post" and operation.get("security") == API_SECURITY:
        operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY_PARAMETER))
    if operation_id in RAW_BODIES:
        ref = {"$ref": REF_TEMPLATE.format(name=RAW_BODIES[operation_id].__name__)}
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}, FORM_TYPE: {"schema": ref}},
        }
    body = operation.get("requestBody")
    if body is not None and path in FORM_PATHS:
        json_schema = body["content"]["application/json"]["schema"]
        body["content"][FORM_TYPE] = {"schema": json_schema}
    declared = {str(status) for status in handler.responses or {}}
    extra = {"429"} if operation_id in ADDRESS_LIMITED_OPERATIONS else set()
    if operation_id in HASHING_OPERATIONS:
        extra.add("503")
    _error_responses(operation, declared, extra)


def _error_responses(
    operation: dict[str, Any], declared: set[str], extra: set[str] | None = None
) -> None:
    """Every error answer is the envelope, except those a route declares
    itself (such as /readyz's 503, which reports its checks)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = {code for code in responses if not code.startswith(("2", "3"))}
    codes.add("default")
    codes.update(extra or ())
    if operation.get("requestBody") or operation.get("parameters"):
        codes.add("400")
    if operation.get("requestBody"):
        codes.add("413")
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.add("404")
    if operation.get("security"):
        codes.update(("401", "403", "429"))
    if any(p.get("name") == IDEMPOTENCY_KEY for p in operation.get("parameters", [])):
        codes.update(("409", "422"))
    for code in codes - declared:
        responses[code] = {
            "description": ERROR_DESCRIPTIONS.get(code, "An error, in the envelope"),
            "content": {"application/json": {"schema": ERROR_REF}},
        }


def _msgspec_components(handlers: list[Handled]) -> dict[str, Any]:
    structs: set[Any] = {ErrorResponse, *RAW_BODIES.values()}
    for _, _, handler in handlers:
        signature = handler.parsed_fn_signature
        data = signature.parameters.get("data")
        if data is not None:
            structs.update(_structs_in(data.annotation))
        structs.update(_structs_in(signature.return_type.annotation))
    ordered = sorted(structs, key=_sort_key)
    _, components = msgspec.json.schema_components(ordered, ref_template=REF_TEMPLATE)
    return components


def _structs_in(annotation: Any) -> Iterator[Any]:
    """The structs an annotation names: itself (a generic one with its
    parameters, such as Envelope[SentSms]), a union's members, or the body
    of a Response[...]."""
    origin = get_origin(annotation)
    if _is_struct(annotation) or _is_struct(origin):
        yield annotation
        return
    if origin is Union or origin is types.UnionType or origin is not None:
        for argument in get_args(annotation):
            yield from _structs_in(argument)


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _sort_key(struct: Any) -> str:
    return f"{struct.__module__}.{struct.__qualname__}" if _is_struct(struct) else str(struct)


def _use_msgspec_names(document: dict[str, Any], handlers: list[Handled]) -> None:
    """Litestar names a generic struct's component after its parameters'
    full paths (and two structs of one name after their modules); msgspec
    names them otherwise. The schemas are msgspec's, so every reference takes
    msgspec's name, and Litestar's copies go."""
    renamed: dict[str, str] = {}
    for path, method, handler in handlers:
        operation = document["paths"][path][method]
        signature = handler.parsed_fn_signature
        data = signature.parameters.get("data")
        if data is not None:
            for media in operation.get("requestBody", {}).get("content", {}).values():
                renamed.update(_paired_refs(media["schema"], data.annotation))
        answer = operation["responses"].get(str(handler.status_code), {})
        for media in answer.get("content", {}).values():
            renamed.update(_paired_refs(media["schema"], signature.return_type.annotation))
    schemas = document["components"]["schemas"]
    for name in set(renamed) - set(renamed.values()):
        del schemas[name]
    _rename_refs(document, {REF_TEMPLATE.format(name=a): REF_TEMPLATE.format(name=b)
                            for a, b in renamed.items()})


def _paired_refs(schema: dict[str, Any], annotation: Any) -> dict[str, str]:
    """Litestar's component name of each struct `annotation` names (a union
    lists them in order, as its oneOf does), against msgspec's."""
    theirs = [option["$ref"] for option in schema.get("oneOf", [schema]) if "$ref" in option]
    structs = list(_structs_in(annotation))
    if len(theirs) != len(structs):
        return {}
    ours = msgspec.json.schema_components(structs, ref_template=REF_TEMPLATE)[0]
    return {
        their.rsplit("/", 1)[1]: our["$ref"].rsplit("/", 1)[1]
        for their, our in zip(theirs, ours, strict=True)
        if their != our["$ref"]
    }


def _rename_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _rename_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value, refs)
