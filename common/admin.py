from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from common.models import Heartbeat, Service, Site, User


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "service", "is_active")
    list_filter = ("service", "groups", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Service", {"fields": ("service",)}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Service", {"fields": ("service",)}))


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "duty_inbox_email")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SiteInline]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker", "seen_at")
    readonly_fields = ("token", "worker", "seen_at")
