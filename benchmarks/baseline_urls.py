"""URLs for benchmark runs: the real site plus bare baseline views (ROOT_URLCONF)."""

from django.urls import include, path

from benchmarks.bare_views import (
    bare_api_list,
    bare_dataset,
    bare_fhir,
    bare_list,
    bare_page,
    bare_referral,
    bare_report,
)

urlpatterns = [
    path("bench/bare-referral/", bare_referral),
    path("bench/bare-list/<str:name>/", bare_list),
    path("bench/bare-api/<str:name>/", bare_api_list),
    path("bench/bare-fhir/<str:referral>/", bare_fhir),
    path("bench/bare-page/", bare_page),
    path("bench/bare-report/", bare_report),
    path("bench/bare-dataset.csv", bare_dataset),
    path("", include("config.urls")),
]
