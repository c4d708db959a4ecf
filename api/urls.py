"""The API's routes under /api/v1/: the REST resources (api.views) and HL7 FHIR R4 exchange
(api.fhir). /referrals/ takes both the partner's POST and the staff's GET."""

from django.urls import include, path

from api import views, writes

LIST = {"get": "list"}
RECORD = {"get": "retrieve"}


def resource(prefix: str, viewset, name: str) -> list:
    return [
        path(f"{prefix}/", viewset.as_view(LIST), name=f"api-{name}-list"),
        path(f"{prefix}/<uuid:id>/", viewset.as_view(RECORD), name=f"api-{name}-detail"),
    ]


urlpatterns = [
    path("referrals/", views.ReferralsApi.as_view(), name="api-referrals"),
    path(
        "referrals/<uuid:id>/",
        views.ReferralViewSet.as_view(RECORD),
        name="api-referral-detail",
    ),
    *resource("clients", views.ClientViewSet, "client"),
    *resource("assessments", views.AssessmentViewSet, "assessment"),
    *resource(
        "questionnaire-responses", views.QuestionnaireResponseViewSet, "questionnaire-response"
    ),
    *resource("risk-flags", views.RiskFlagViewSet, "risk-flag"),
    path(
        "risk-flags/<uuid:id>/acknowledge/",
        views.RiskFlagViewSet.as_view({"post": "acknowledge"}),
        name="api-risk-flag-acknowledge",
    ),
    *resource("goals", views.GoalViewSet, "goal"),
    *resource("session-plans", views.SessionPlanViewSet, "session-plan"),
    *resource("sessions", views.SessionViewSet, "session"),
    *resource("therapists", views.TherapistViewSet, "therapist"),
    *resource("slots", views.SlotViewSet, "slot"),
    *resource("proposals", views.ProposalViewSet, "proposal"),
    *resource("allocations", views.AllocationViewSet, "allocation"),
    *resource("notifications", views.NotificationViewSet, "notification"),
    # Writes for a therapist's tool and a coordinator's integration (api/writes.py).
    path(
        "referrals/<uuid:id>/sessions/",
        writes.SessionRecordApi.as_view(),
        name="api-referral-session-record",
    ),
    path("goals/<uuid:id>/ratings/", writes.GoalRatingApi.as_view(), name="api-goal-rating-add"),
    path(
        "proposals/<uuid:id>/accept/",
        writes.ProposalAcceptApi.as_view(),
        name="api-proposal-accept",
    ),
    path(
        "proposals/<uuid:id>/hold/",
        writes.ProposalDeclineApi.as_view(),
        name="api-proposal-hold",
    ),
    path("", include("api.fhir.urls")),
]
