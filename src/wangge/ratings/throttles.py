"""The rate limit of the residents' provider rating page, counted per client address like the other
public pages (wangge.cases.throttles)."""

from __future__ import annotations

from django.conf import settings

from wangge.cases.throttles import PublicRateThrottle

DEFAULT_RATE = "20/hour"


class PublicRatingThrottle(PublicRateThrottle):
    """Residents' ratings of providers: WANGGE_PUBLIC_RATING_RATE (default 20/hour); empty switches it off."""

    scope = "public_rating"
    rate_setting = "WANGGE_PUBLIC_RATING_RATE"

    def get_rate(self):
        return getattr(settings, self.rate_setting, DEFAULT_RATE) or None
