from django.contrib import admin

from allocation.models import Therapist, WeeklySlot


class WeeklySlotInline(admin.TabularInline):
    model = WeeklySlot
    extra = 0


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    list_display = ("display_name", "service", "gender", "capacity", "offers_remote")
    list_filter = ("service", "gender", "offers_remote")
    inlines = [WeeklySlotInline]
