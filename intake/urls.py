from django.urls import path, re_path

from intake import refer_views, rights_views, token_views, views
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
    # Rights requests (office work): intake/rights_views.py
    path("staff/rights-requests/", rights_views.rights_tasks, name="rights-tasks"),
    path(
        "staff/referrals/<uuid:public_id>/rights-requests/new/",
        rights_views.rights_request_new,
        name="rights-request-new",
    ),
    path(
        "staff/rights-requests/<uuid:public_id>/",
        rights_views.rights_request_detail,
        name="rights-request-detail",
    ),
    path(
        "staff/rights-requests/<uuid:public_id>/extend/",
        rights_views.rights_request_extend,
        name="rights-request-extend",
    ),
    path(
        "staff/rights-requests/<uuid:public_id>/complete/",
        rights_views.rights_request_complete,
        name="rights-request-complete",
    ),
    path(
        "staff/rights-requests/<uuid:public_id>/lift/",
        rights_views.restriction_lift,
        name="rights-restriction-lift",
    ),
    # Partner API tokens (service admins): intake/token_views.py
    path("staff/api-tokens/", token_views.token_list, name="api-token-list"),
    path(
        "staff/api-tokens/accounts/add/",
        token_views.integration_add,
        name="api-integration-add",
    ),
    path(
        "staff/api-tokens/accounts/<uuid:public_id>/issue/",
        token_views.token_issue,
        name="api-token-issue",
    ),
    path(
        "staff/api-tokens/<int:token_id>/revoke/", token_views.token_revoke, name="api-token-revoke"
    ),
]
