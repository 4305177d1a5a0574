"""/v1/auth/google/url and /v1/auth/google: sign-in through the configured
OpenID Connect provider (Google's endpoints, or any other's)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from adapters.bootstrap.identity import Identity
from adapters.http.bodies import Envelope
from adapters.http.identity.controller import tokens_response
from adapters.http.identity.schemas import GoogleSignInRequest, GoogleUrlOut, TokensOut
from adapters.http.injected import RequestMeta, Service
from application.errors import NotFound
from application.identity.oidc import OidcSignIn


def _oidc(identity: Identity) -> OidcSignIn:
    if identity.oidc is None:
        raise NotFound("Google sign-in is not configured on this server")
    return identity.oidc


class GoogleAuthController(Controller):
    path = "/v1/auth/google"
    tags = ["Auth"]

    @get("/url", operation_id="getGoogleAuthUrl", summary="Google sign-in URL", sync_to_thread=True)
    def url(
        self, meta: RequestMeta, identity: Service[Identity]
    ) -> Envelope[GoogleUrlOut]:
        start = _oidc(identity).start()
        return Envelope(
            data=GoogleUrlOut(url=start.url, state=start.state),
            meta=meta,
        )

    @post("/", operation_id="googleSignIn",
          summary="Sign in with Google (OIDC code)", status_code=200, sync_to_thread=True)
    def sign_in(
        self, meta: RequestMeta, data: JSONBody[GoogleSignInRequest],
        identity: Service[Identity],
    ) -> Envelope[TokensOut]:
        return tokens_response(meta, _oidc(identity).finish(data.code, data.state))
