from django.contrib import admin

from notifications.models import Letter, Notification, NotificationEvent, PrintBatch


class NotificationEventInline(admin.TabularInline):
    model = NotificationEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "event", "detail", "by")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: the outbox changes only through its services (and the staff pages)."""

    list_display = ("kind", "recipient", "status", "channel", "attempts", "service", "created_at")
    list_filter = ("status", "kind", "channel", "service")
    search_fields = ("idempotency_key", "public_id", "referral__reference")
    inlines = [NotificationEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrintBatch)
class PrintBatchAdmin(admin.ModelAdmin):
    list_display = ("created_at", "service", "letter_count", "page_count", "download_count")
    exclude = ("pdf",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ("notification", "service", "page_count", "batch", "created_at")
    exclude = ("pdf",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
