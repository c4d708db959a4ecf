from django.contrib import admin

from intake.models import Client, ConsentRecord, PrivacyNotice, Referral


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ("reference", "service", "status", "risk_level", "received_at")
    list_filter = ("service", "status", "risk_level")
    search_fields = ("reference",)
    raw_id_fields = ("client",)


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_name", "service")
    list_filter = ("service",)


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    list_display = ("service", "version", "published_at")
    list_filter = ("service",)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Read-only: consent history is appended by the service, never edited."""

    list_display = ("client", "topic", "decision", "via", "recorded_at")
    list_filter = ("topic", "decision", "via")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
