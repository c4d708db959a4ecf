from django.urls import path

from therapy import views

urlpatterns = [
    # Therapists and coordinators
    path("staff/clients/", views.caseload, name="therapy-caseload"),
    path("staff/therapy/", views.therapy_overview, name="therapy-overview"),
    path("staff/referrals/<uuid:public_id>/therapy/", views.client, name="therapy-client"),
    path(
        "staff/referrals/<uuid:public_id>/therapy/start/",
        views.therapy_start,
        name="therapy-start",
    ),
    path(
        "staff/referrals/<uuid:public_id>/therapy/end/",
        views.therapy_end,
        name="therapy-end",
    ),
    path("staff/referrals/<uuid:public_id>/plan/", views.plan, name="session-plan"),
    path(
        "staff/referrals/<uuid:public_id>/plan/change/", views.plan_edit, name="session-plan-edit"
    ),
    path(
        "staff/referrals/<uuid:public_id>/plan/breaks/add/",
        views.break_add,
        name="session-plan-break-add",
    ),
    path(
        "staff/referrals/<uuid:public_id>/plan/breaks/<slug:break_id>/remove/",
        views.break_remove,
        name="session-plan-break-remove",
    ),
    path("staff/referrals/<uuid:public_id>/goals/", views.goals, name="goals"),
    path(
        "staff/referrals/<uuid:public_id>/goals/<uuid:goal_id>/close/",
        views.goal_close,
        name="goal-close",
    ),
    path("staff/referrals/<uuid:public_id>/sessions/", views.sessions, name="sessions"),
    path(
        "staff/referrals/<uuid:public_id>/sessions/<uuid:session_id>/questionnaires/",
        views.session_measures,
        name="session-measures",
    ),
    path("staff/referrals/<uuid:public_id>/progress/", views.progress, name="progress"),
    path(
        "staff/referrals/<uuid:public_id>/progress/questionnaires/ask/",
        views.questionnaire_ask,
        name="progress-questionnaire-ask",
    ),
    path(
        "staff/referrals/<uuid:public_id>/progress/questionnaires/<uuid:request_id>/cancel/",
        views.questionnaire_cancel,
        name="progress-questionnaire-cancel",
    ),
    path(
        "staff/referrals/<uuid:public_id>/progress/flags/<uuid:flag_id>/",
        views.progress_flag_review,
        name="progress-flag-review",
    ),
    path(
        "staff/referrals/<uuid:public_id>/non-attendance/",
        views.non_attendance,
        name="non-attendance",
    ),
]
