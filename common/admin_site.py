"""The Django admin, held to the staff sign-in: a two-factor verified session, or nothing.

The admin's own sign-in form (password only) is never shown: anyone not signed in is sent to
the staff sign-in, and a session that has not passed the code step to the code step.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from common.two_factor import is_verified


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return super().has_permission(request) and is_verified(request.user)

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return redirect_to_login(target, reverse("staff-login"))
        if not is_verified(request.user):
            return redirect_to_login(target, reverse("staff-two-factor"))
        # Signed in and verified but not admin staff: refused, never sent round again.
        raise PermissionDenied("This account may not use the admin site.")
