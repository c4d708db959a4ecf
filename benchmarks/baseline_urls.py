"""URLs for benchmark runs: the real site plus a bare baseline view (ROOT_URLCONF)."""

from django.urls import include, path

from benchmarks.bare_views import bare_referral

urlpatterns = [
    path("bench/bare-referral/", bare_referral),
    path("", include("config.urls")),
]
