from django.contrib import admin

from intake.models import Client, Referral


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
