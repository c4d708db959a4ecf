"""The client's address, the one way every part of Threshold finds it.

Behind reverse proxies, REMOTE_ADDR is the nearest proxy and the client's address is in
X-Forwarded-For. Only the entries the trusted proxies appended can be believed: a client
can send the header with anything in it, and each proxy appends the address it was called
from to the right of what it received. So with `TRUSTED_PROXY_COUNT` = N the client is
the N-th entry from the right, and whatever is left of it is ignored. With N = 0 (the
default: the app faces the clients) the header is ignored and REMOTE_ADDR is the client.

Used by the staff sign-in lockout (django-axes), the public pages' rate limits
(django-ratelimit) and the API's throttles.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

# No address (a request made in-process, such as a test's force_login): empty, which
# django-axes stores as no address rather than failing on a non-address.
UNKNOWN = ""


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR") or UNKNOWN
    hops = settings.TRUSTED_PROXY_COUNT
    if hops == 0:
        return remote
    # ipware counts the proxies *after* the client in the header: the last trusted proxy
    # appears only as REMOTE_ADDR, so N trusted hops put the client at position -N.
    address, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=hops - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    # No header, or fewer entries than trusted hops: the request did not come through all
    # the proxies, so the peer itself is the client.
    return address or remote
