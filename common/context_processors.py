from django.conf import settings

from common.access import may_use_staff_pages


def service(request):
    user = getattr(request, "user", None)
    staff_service = (
        getattr(user, "service", None) if getattr(user, "is_authenticated", False) else None
    )
    return {
        "service_name": staff_service.name if staff_service else settings.SERVICE_NAME,
        # An integration account is never shown the staff pages' header and links.
        "staff_user": user if may_use_staff_pages(user) else None,
    }
