"""Rate limits of the public (no account) resident pages and endpoints, counted per client address.

They are DRF throttles so the API's resident endpoints can list them in `throttle_classes`; the pages
in public_views call them by hand. The rate is read from settings when a throttle is made (once per
request), so a deployment changes it by environment variable and a test by overriding the setting.
Counts live in the default cache: several app servers need a shared cache, or each counts on its own.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PublicRateThrottle(SimpleRateThrottle):
    """Every request counts, signed in or not: staff trying the public pages share the same limits.

    The client address comes from DRF's `get_ident`: set REST_FRAMEWORK["NUM_PROXIES"] behind a reverse
    proxy, or X-Forwarded-For (which a client can forge) decides whose count a request goes to.
    """

    rate_setting = ""

    def get_rate(self):
        # An empty setting switches the limit off (DRF treats a None rate as "no limit").
        return getattr(settings, self.rate_setting, None) or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicReportThrottle(PublicRateThrottle):
    """Resident reports (群众点单): WANGGE_PUBLIC_REPORT_RATE, e.g. "10/hour"."""

    scope = "public_report"
    rate_setting = "WANGGE_PUBLIC_REPORT_RATE"


class PublicTrackThrottle(PublicRateThrottle):
    """Tracking-code look-ups and ratings: WANGGE_PUBLIC_TRACK_RATE, e.g. "60/hour"."""

    scope = "public_track"
    rate_setting = "WANGGE_PUBLIC_TRACK_RATE"
