from django.contrib import admin

from allocation.models import (
    Allocation,
    AllocationSlot,
    Hold,
    LeavePeriod,
    Proposal,
    ProposalRun,
    Therapist,
    WeeklySlot,
)


class WeeklySlotInline(admin.TabularInline):
    model = WeeklySlot
    extra = 0


class LeavePeriodInline(admin.TabularInline):
    model = LeavePeriod
    extra = 0


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    list_display = ("display_name", "service", "gender", "capacity", "offers_remote")
    list_filter = ("service", "gender", "offers_remote")
    inlines = [WeeklySlotInline, LeavePeriodInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the service's own code; the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProposalRun)
class ProposalRunAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "service", "status", "trigger", "considered", "placed")
    list_filter = ("service", "status", "trigger")


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("referral", "therapist", "priority", "decision", "run")
    list_filter = ("service", "decision")
    raw_id_fields = ("run", "referral", "therapist")


class AllocationSlotInline(admin.TabularInline):
    model = AllocationSlot
    extra = 0
    can_delete = False
    readonly_fields = ("slot", "active")


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ("referral", "therapist", "status", "source", "allocated_at")
    list_filter = ("service", "status", "source")
    inlines = [AllocationSlotInline]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ("referral", "reason", "created_at", "released_at")
    list_filter = ("service",)
