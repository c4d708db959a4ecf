from django.urls import path

from intake import views

urlpatterns = [
    path("staff/referrals/", views.referral_list, name="staff-referral-list"),
    path("staff/referrals/<uuid:public_id>/", views.referral_detail, name="staff-referral-detail"),
]
