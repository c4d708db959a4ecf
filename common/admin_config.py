"""The admin app's configuration, naming Threshold's admin site (common/admin_site.py). Its own
module: INSTALLED_APPS loads it before any model exists, and the site's module needs them."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "common.admin_site.StaffAdminSite"
