"""Fixed vocabularies of the annual appraisal (年度考核, seed 002)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Rating(models.TextChoices):
    """The three grades of seed 002: 优秀、合格、不合格."""

    EXCELLENT = "excellent", pgettext_lazy("appraisal rating", "Excellent")
    COMPETENT = "competent", pgettext_lazy("appraisal rating", "Competent")
    INCOMPETENT = "incompetent", pgettext_lazy("appraisal rating", "Incompetent")


class RoundStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("appraisal round", "Under way")
    FINALISED = "finalised", pgettext_lazy("appraisal round", "Finalised")


class Voting(models.TextChoices):
    """How a round's democratic rating (民主测评) comes in."""

    BALLOTS = "ballots", _("Ballots cast by the staff on their phones or desks")
    COUNTS = "counts", _("Vote counts entered by the organiser (e.g. from a paper vote)")


# What each grade brings (seed 002), shown on the entry page and in the report.
CONSEQUENCES = {
    Rating.EXCELLENT: _(
        "Priority for promotion, for the village committee elections (两委换届), for nomination as deputy or "
        "committee member (两代表一委员) and for awards."
    ),
    Rating.COMPETENT: "",
    Rating.INCOMPETENT: _(
        "Dismissal (解聘) and a circulated notice (通报); no awards or honours of any kind for the year."
    ),
}
