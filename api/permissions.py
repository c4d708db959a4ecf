"""Who may use an endpoint: the roles the view names, as the staff pages ask them
(common.access). An integration account holding only the partner role sends referrals and
reads none (403); a verified staff session or a token of an account with a staff role reads
what that role reads, scoped by the view's selector."""

from __future__ import annotations

from rest_framework import permissions

from common import access


class StaffRole(permissions.BasePermission):
    message = "This endpoint is not for your role."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.service_id
            and access.has_any_role(user, view.roles)
        )
