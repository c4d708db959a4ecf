"""The partner API's token authentication (its own module: DRF's settings import it while
rest_framework.views is still loading, so it must not import the API views)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from common.client_address import client_address
from intake.api_tokens import api_token_authenticate

# One answer for every token that cannot be used: which of these it is tells a guesser
# something, and the partner's fix is the same (ask for a new token).
INVALID_TOKEN = (
    "This token cannot be used: it is mistyped, expired or revoked, or its account is "
    "closed. Ask the service for a new token."
)


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`, checked against the hashed keys (intake.api_tokens)."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        try:
            key = parts[1].decode("ascii") if len(parts) == 2 else ""
        except UnicodeDecodeError:
            key = ""
        token = key and api_token_authenticate(
            key=key,
            address=client_address(request),
            method=request.method,
            path=request.path,
        )
        if not token:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        return (token.user, token)

    def authenticate_header(self, request):
        return self.keyword
