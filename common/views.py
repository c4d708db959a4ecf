"""Public landing page, staff sign-in, health endpoints and error pages. (The staff home
for each role is in `staff/`: it reads every app, and common knows none.)"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from common import health
from common.access import is_integration_user
from common.forms import StaffAuthenticationForm


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "common/home.html")


class StaffLoginView(LoginView):
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        # An integration account's session is shown the form (and why it cannot be used),
        # not sent round to a home page that refuses it.
        if is_integration_user(request.user):
            self.redirect_authenticated_user = False
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        # The password was right: the session is signed in but not verified, and goes on to
        # the code step (or to setting up an authenticator), then where it was going.
        super().form_valid(form)
        return redirect_to_login(self.get_success_url(), reverse("staff-two-factor"))


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    ready, body = health.readiness()
    return JsonResponse(body, status=200 if ready else 503)


def bad_request(request, exception=None):
    return render(request, "common/errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "common/errors/403.html", status=403)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/v1/"):
        # An address no API route takes (an id that is not a UUID, a resource that does not
        # exist) answers in the API's one error shape, as a 404 from a view does.
        from common.api_errors import NOT_FOUND

        body = {"status": 404, "code": "not_found", "detail": NOT_FOUND, "errors": {}}
        return JsonResponse(body, status=404)
    return render(request, "common/errors/404.html", status=404)


def server_error(request):
    # No context processors here: the database may be what failed.
    html = loader.get_template("common/errors/500.html").render(
        {"service_name": settings.SERVICE_NAME, "CSP_NONCE": getattr(request, "csp_nonce", "")}
    )
    return HttpResponse(html, status=500)
