from django.urls import path

from intake.api import ReferralCreateApi

urlpatterns = [path("referrals/", ReferralCreateApi.as_view(), name="api-referral-create")]
