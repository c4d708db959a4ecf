from django.urls import path

from allocation import views

urlpatterns = [
    path("staff/allocation/", views.waiting_list, name="allocation-waiting-list"),
    path("staff/allocation/runs/", views.run_start, name="allocation-run-start"),
    path("staff/allocation/runs/<uuid:public_id>/", views.run_detail, name="allocation-run"),
    path(
        "staff/allocation/runs/<uuid:public_id>/status/",
        views.run_status,
        name="allocation-run-status",
    ),
    path("staff/allocation/accept/", views.bulk_accept, name="allocation-bulk-accept"),
    path(
        "staff/allocation/proposals/<uuid:public_id>/accept/",
        views.proposal_accept,
        name="allocation-proposal-accept",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/",
        views.referral_detail,
        name="allocation-referral",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/choose/",
        views.referral_choose,
        name="allocation-referral-choose",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/hold/",
        views.referral_hold,
        name="allocation-referral-hold",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/hold/release/",
        views.hold_release,
        name="allocation-hold-release",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/exclusions/",
        views.referral_exclude,
        name="allocation-referral-exclude",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/exclusions/<uuid:exclusion_id>/remove/",
        views.exclusion_remove,
        name="allocation-exclusion-remove",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/gender/",
        views.referral_gender_exclusion,
        name="allocation-referral-gender",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/competence/",
        views.referral_competence,
        name="allocation-referral-competence",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/times/",
        views.referral_times,
        name="allocation-referral-times",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/course/",
        views.referral_course,
        name="allocation-referral-course",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/languages/",
        views.referral_languages,
        name="allocation-referral-languages",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/complexity/",
        views.referral_complexity,
        name="allocation-referral-complexity",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/continuity/",
        views.referral_continuity,
        name="allocation-referral-continuity",
    ),
    path(
        "staff/allocation/referrals/<uuid:public_id>/access/",
        views.referral_access,
        name="allocation-referral-access",
    ),
    path("staff/allocation/sites/", views.site_access, name="allocation-sites"),
    path(
        "staff/allocation/interpreters/",
        views.interpreter_settings,
        name="allocation-interpreters",
    ),
    path("staff/therapists/", views.caseloads, name="allocation-caseloads"),
    path("staff/therapists/add/", views.therapist_add, name="allocation-therapist-add"),
    path("staff/therapists/<uuid:public_id>/", views.therapist_detail, name="allocation-therapist"),
    path(
        "staff/therapists/<uuid:public_id>/edit/",
        views.therapist_edit,
        name="allocation-therapist-edit",
    ),
    path(
        "staff/therapists/<uuid:public_id>/slots/add/",
        views.slot_add,
        name="allocation-slot-add",
    ),
    path(
        "staff/therapists/<uuid:public_id>/slots/<uuid:slot_id>/remove/",
        views.slot_remove,
        name="allocation-slot-remove",
    ),
    path(
        "staff/therapists/<uuid:public_id>/leave/add/",
        views.leave_add,
        name="allocation-leave-add",
    ),
    path(
        "staff/therapists/<uuid:public_id>/leave/<uuid:leave_id>/remove/",
        views.leave_remove,
        name="allocation-leave-remove",
    ),
]
