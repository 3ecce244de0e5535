from django.contrib.admin.apps import AdminConfig


class WanggeAdminConfig(AdminConfig):
    """Django's admin with a site whose access and querysets follow posts and scope, not is_staff."""

    default_site = "wangge.core.admin.WanggeAdminSite"
