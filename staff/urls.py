from django.urls import path

from staff import views

urlpatterns = [
    path("staff/", views.staff_home, name="staff-home"),
]
