from django.urls import path

from audit import views

urlpatterns = [
    path("staff/audit/", views.audit_events, name="audit-events"),
    path("staff/audit/events.csv", views.audit_events_csv, name="audit-events-csv"),
]
