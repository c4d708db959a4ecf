from django.conf import settings


def service(request):
    user = getattr(request, "user", None)
    staff_service = (
        getattr(user, "service", None) if getattr(user, "is_authenticated", False) else None
    )
    return {
        "service_name": staff_service.name if staff_service else settings.SERVICE_NAME,
        "staff_user": user if getattr(user, "is_authenticated", False) else None,
    }
