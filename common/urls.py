from django.contrib.auth import views as auth_views
from django.urls import path

from common import two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("staff/login/", views.StaffLoginView.as_view(), name="staff-login"),
    path("staff/login/code/", two_factor_views.two_factor_code, name="staff-two-factor"),
    path("staff/login/set-up/", two_factor_views.two_factor_setup, name="staff-two-factor-setup"),
    path(
        "staff/team/<uuid:public_id>/two-factor-reset/",
        two_factor_views.two_factor_reset,
        name="staff-two-factor-reset",
    ),
    path("staff/logout/", auth_views.LogoutView.as_view(), name="staff-logout"),
]
