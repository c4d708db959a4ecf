from django.urls import path, re_path

from intake import refer_views, views
from intake.wizard import SelfReferralWizard

refer_wizard = SelfReferralWizard.as_view(url_name="refer-step", done_step_name="submit")

urlpatterns = [
    path("refer/", refer_views.start, name="refer-start"),
    path("refer/unavailable/", refer_views.unavailable, name="refer-unavailable"),
    path("refer/not-eligible/", refer_views.ineligible, name="refer-ineligible"),
    path("refer/saved/", refer_views.saved, name="refer-saved"),
    path("refer/resume/", refer_views.resume, name="refer-resume"),
    path("refer/confirmation/", refer_views.confirmation, name="refer-confirmation"),
    re_path(r"^refer/(?P<step>[^/]+)/$", refer_wizard, name="refer-step"),
    path("staff/referrals/", views.referral_list, name="staff-referral-list"),
    path("staff/referrals/<uuid:public_id>/", views.referral_detail, name="staff-referral-detail"),
    path(
        "staff/referrals/<uuid:public_id>/risk/<uuid:flag_id>/acknowledge/",
        views.risk_flag_acknowledge,
        name="staff-risk-acknowledge",
    ),
]
