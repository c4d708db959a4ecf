from django.urls import path

from reporting import views
from reporting.selectors import SECTIONS

urlpatterns = [
    path("staff/reports/", views.report, name="reporting-report"),
    path("staff/reports/dataset.csv", views.dataset_csv, name="reporting-dataset-csv"),
    # One address per chart's table, each named, so the access test walks every one.
    *(
        path(
            f"staff/reports/{slug}.csv",
            views.chart_csv,
            {"chart": slug},
            name=f"reporting-{slug}-csv",
        )
        for slug in SECTIONS
    ),
]
