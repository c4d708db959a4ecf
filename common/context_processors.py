from django.conf import settings

from common.access import may_use_staff_pages


def service(request):
    user = getattr(request, "user", None)
    return {
        # One name in every header and title, public and staff pages alike.
        "service_name": settings.SERVICE_NAME,
        # An integration account is never shown the staff pages' header and links.
        "staff_user": user if may_use_staff_pages(user) else None,
    }
