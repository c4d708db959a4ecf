from django.conf import settings

from common.access import may_use_staff_pages
from common.two_factor import is_verified


def service(request):
    user = getattr(request, "user", None)
    return {
        # One name in every header and title, public and staff pages alike.
        "service_name": settings.SERVICE_NAME,
        # An integration account is never shown the staff pages' header and links.
        # A session not yet past the two-factor code step is not shown them either.
        "staff_user": user if may_use_staff_pages(user) and is_verified(user) else None,
    }
