from django.urls import path

from assessment import views
from assessment.wizard import assessment_wizard

urlpatterns = [
    # Assessors
    path("staff/assessments/", views.worklist, name="assessment-worklist"),
    path("staff/assessments/finished/", views.finished, name="assessment-finished"),
    path(
        "staff/referrals/<uuid:public_id>/assessment/book/",
        views.book,
        name="assessment-book",
    ),
    path(
        "staff/referrals/<uuid:public_id>/assessment/start/",
        views.start,
        name="assessment-start",
    ),
    path("staff/assessments/<uuid:public_id>/", views.detail, name="assessment-detail"),
    path(
        "staff/assessments/<uuid:assessment_id>/<str:step>/",
        assessment_wizard,
        name="assessment-step",
    ),
]
