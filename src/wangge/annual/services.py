"""The only writers of the annual appraisal (年度考核, seed 002) and of the 优秀网格员 awards (seed 003).

A round is opened by a holder of Capability.APPRAISE at a county, township or village/community for one
year; its people are fixed then — one entry per holder of a grid post under the unit on the reference
date, nobody twice in a year — and the organiser may add or remove people until the first rating. Each
entry then goes through the steps of seed 002:

- self-report (个人述职): written by the person, or entered by the organiser;
- democratic rating (民主测评): ballots cast by the staff holding a post under the round's unit (one per
  voter and colleague, nobody on themself), or vote counts entered by the organiser — the round says which;
- on-site check (实地查看): findings and a score out of 100, by the organiser (optional);
- the rating 优秀/合格/不合格, by an appraiser other than the person, once the self-report and the
  democratic rating are in. At most floor(share × people / 100) entries of a round are 优秀, the share
  being WANGGE_EXCELLENT_SHARE_PERCENT (15) when the round opened; the round's row is locked while rating,
  so two appraisers cannot both take the last place.

A rated entry's steps no longer change (its rating may still be changed); finalising the round, once
every entry is rated, freezes it. Then the consequences: 不合格 → dismissal (`dismiss` ends the person's
grid posts under the round's unit) and a circulated notice (`circulate_notice`), and no award that year;
优秀 → priority, 优秀网格员 awards (`award`) and pipeline flags (`flag_entry`, through teams.services).

Every write is atomic, writes the change log and raises ValidationError naming the field and the rule, or
PermissionDenied.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.appraisal.services import appraisable_units, may_appraise
from wangge.core.audit import diff, record_change, record_changes, snapshot
from wangge.core.models import ChangeAction
from wangge.notices.models import NotificationKind
from wangge.notices.services import notify
from wangge.people.models import Post, User
from wangge.people.roles import GRID_ROLES, Capability, Role
from wangge.units.models import Unit

from .choices import Rating, RoundStatus, Voting
from .models import AppraisalEntry, AppraisalRound, Award, Ballot

VILLAGE_RANK = 3  # rounds are run at the county (1), a township (2) or a village/community (3)
# Posts that make someone one of a unit's staff, who vote in its democratic rating: every territorial
# post (a department works for the department; a system administrator is no one's colleague).
NON_STAFF_ROLES = (Role.DEPARTMENT_USER, Role.SYSTEM_ADMIN)
MAX_TEXT = 5000


def excellent_share() -> int:
    """Seed 002: 优秀等次占比不超过15％ — the share, in per cent, for rounds opened from now on."""
    return int(getattr(settings, "WANGGE_EXCELLENT_SHARE_PERCENT", 15))


def excellent_cap(people: int, share: int) -> int:
    """How many of `people` may be rated 优秀 at `share` per cent: rounded down (6 people → 0 at 15%)."""
    return people * share // 100


def person_name(user) -> str:
    return user.full_name or user.username if user is not None else ""


def _now():
    return timezone.now()


def _actor(by):
    return by if by is not None and by.is_authenticated else None


# --- permissions ------------------------------------------------------------------------------------------


def appraising_units(user):
    """The current county, township and village units where `user` may run a round."""
    return (
        appraisable_units(user)
        .filter(level__rank__lte=VILLAGE_RANK, level__is_grid=False)
        .select_related("level")
        .order_by("path")
    )


def _require_appraiser(by, round: AppraisalRound) -> None:
    if not may_appraise(by, round.unit):
        raise PermissionDenied(
            _("Only an appraiser of %(unit)s or of a unit above it may do this.") % {"unit": round.unit.name}
        )


def _require_other_appraiser(by, entry: AppraisalEntry) -> None:
    """An appraiser acts on the entries of others: one's own appraisal is decided by the other appraisers."""
    _require_appraiser(by, entry.round)
    if by.pk == entry.user_id:
        raise PermissionDenied(
            _("Your own appraisal is decided by the other appraisers of %(unit)s.")
            % {"unit": entry.round.unit.name}
        )


# --- the people appraised -------------------------------------------------------------------------------


def grid_posts_under(unit: Unit, on: datetime.date):
    """Grid posts (GRID_ROLES) held under `unit` on `on`, by unit path."""
    return (
        Post.objects.active(on)
        .filter(unit__path__startswith=unit.path, role__in=GRID_ROLES, user__is_active=True)
        .select_related("user", "unit")
        .order_by("unit__path", "id")
    )


def _year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _posts_in_year(unit: Unit, year: int):
    first, last = _year_bounds(year)
    return (
        Post.objects.filter(unit__path__startswith=unit.path, role__in=GRID_ROLES, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
        .select_related("user", "unit")
        .order_by("unit__path", "start_date", "id")
    )


def candidates(round: AppraisalRound) -> list[Post]:
    """People the organiser may add: holders of a grid post under the round's unit at some time in its
    year who are in no round of that year; one post each (their first)."""
    taken = AppraisalEntry.objects.filter(year=round.year).values("user_id")
    found: dict[int, Post] = {}
    for post in (
        _posts_in_year(round.unit, round.year).exclude(user_id__in=taken).filter(user__is_active=True)
    ):
        found.setdefault(post.user_id, post)
    return sorted(found.values(), key=lambda p: (p.unit.path, person_name(p.user), p.user_id))


def _entry_values(post: Post) -> dict:
    return {"user": post.user, "unit": post.unit, "role": post.role, "post_title": post.title}


def default_title(unit: Unit, year: int) -> str:
    return _("%(unit)s: annual appraisal of the grid staff, %(year)s") % {"unit": unit.name, "year": year}


def _check_round_values(unit: Unit, year: int, reference_date: datetime.date, voting: str, today) -> None:
    errors = {}
    if unit is None:
        raise ValidationError({"unit": _("Choose the unit that runs the appraisal.")})
    if unit.is_grid or unit.level.rank > VILLAGE_RANK:
        errors["unit"] = _(
            "An annual appraisal is run by the county, a township or a village/community, not by %(unit)s."
        ) % {"unit": unit.name}
    elif not unit.is_current:
        errors["unit"] = _("%(unit)s is no longer in force.") % {"unit": unit.name}
    if not isinstance(year, int) or year < 2000 or year > today.year:
        errors["year"] = _("Appraise a past year or this year (%(year)s), not a later one.") % {
            "year": today.year
        }
    elif reference_date.year != year or reference_date > today:
        errors["reference_date"] = _(
            "The reference date lies in the year appraised (%(year)s) and not after today."
        ) % {"year": year}
    if voting not in Voting.values:
        errors["voting"] = _("Choose how the democratic rating comes in: ballots or entered vote counts.")
    if errors:
        raise ValidationError(errors)


def open_round(
    *,
    by,
    unit: Unit,
    year: int,
    reference_date: datetime.date | None = None,
    voting: str = Voting.BALLOTS,
    title: str = "",
    today: datetime.date | None = None,
) -> AppraisalRound:
    """Open `unit`'s appraisal of `year`: one entry per holder of a grid post under the unit on the
    reference date (the last day of the year, or today for this year), leaving out whoever is already in
    another round of that year. The people appraised are asked to write their self-report; in a ballot
    round the staff under the unit are asked to vote."""
    today = today or timezone.localdate()
    if unit is not None and not may_appraise(by, unit):
        raise PermissionDenied(_("You do not appraise the staff of %(unit)s.") % {"unit": unit.name})
    if reference_date is None and isinstance(year, int):
        reference_date = min(today, datetime.date(year, 12, 31)) if 2000 <= year <= today.year else today
    _check_round_values(unit, year, reference_date, voting, today)
    title = (title or "").strip()[:120] or default_title(unit, year)
    duplicate = ValidationError(
        {"year": _("%(unit)s already has its appraisal of %(year)s.") % {"unit": unit.name, "year": year}}
    )
    try:
        with transaction.atomic():
            if AppraisalRound.objects.filter(unit=unit, year=year).exists():
                raise duplicate
            taken = set(AppraisalEntry.objects.filter(year=year).values_list("user_id", flat=True))
            posts: dict[int, Post] = {}
            for post in grid_posts_under(unit, reference_date):
                if post.user_id not in taken:
                    posts.setdefault(post.user_id, post)
            if not posts:
                raise ValidationError(
                    {
                        "unit": _(
                            "Nobody to appraise: no one holds a grid post under %(unit)s on %(date)s who is "
                            "not already in another appraisal of %(year)s."
                        )
                        % {"unit": unit.name, "date": reference_date.isoformat(), "year": year}
                    }
                )
            round = AppraisalRound.objects.create(
                unit=unit,
                year=year,
                title=title,
                reference_date=reference_date,
                voting=voting,
                excellent_share=excellent_share(),
                opened_by=by,
            )
            entries = AppraisalEntry.objects.bulk_create(
                [AppraisalEntry(round=round, year=year, **_entry_values(post)) for post in posts.values()],
                batch_size=2000,
            )
            record_change(
                round,
                ChangeAction.CREATE,
                by,
                {"after": snapshot(round), "people": len(entries)},
                acting_unit=unit,
            )
            record_changes(
                ((entry, ChangeAction.CREATE, {"after": snapshot(entry)}) for entry in entries),
                user=by,
                acting_unit=unit,
            )
            _notify_opened(round, [e.user for e in entries])
    except IntegrityError as exc:
        # Another round of the year took one of these people, or this unit's round, at the same time.
        raise ValidationError(
            {
                "unit": _("Another appraisal of %(year)s was opened at the same time: try again.")
                % {"year": year}
            }
        ) from exc
    return round


def _notify_opened(round: AppraisalRound, people: list[User]) -> None:
    mine = reverse("annual:mine")
    notify(
        people,
        NotificationKind.APPRAISAL,
        _("Annual appraisal %(year)s: write your self-report") % {"year": round.year},
        _("%(title)s has begun. Write your self-report (个人述职) on the appraisal page.")
        % {"title": round.title},
        mine,
    )
    if round.voting == Voting.BALLOTS:
        appraised = {user.pk for user in people}
        voters = [user for user in staff_under(round.unit, timezone.localdate()) if user.pk not in appraised]
        notify(
            voters,
            NotificationKind.APPRAISAL,
            _("Annual appraisal %(year)s: rate your colleagues") % {"year": round.year},
            _("%(title)s has begun. Give your vote on each colleague in the democratic rating (民主测评).")
            % {"title": round.title},
            reverse("annual:ballot"),
        )


def staff_under(unit: Unit, on: datetime.date) -> list[User]:
    """The staff of `unit`: active users holding a territorial post under it on `on` (the voters)."""
    posts = Post.objects.active(on).filter(unit__path__startswith=unit.path).exclude(role__in=NON_STAFF_ROLES)
    return list(User.objects.filter(is_active=True, posts__in=posts).distinct().order_by("full_name", "id"))


def update_round(round: AppraisalRound, *, by, title: str) -> AppraisalRound:
    """Rename a round that is under way."""
    _require_appraiser(by, round)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the round a title.")})
    with transaction.atomic():
        round = _lock_round(round)
        _check_open(round, "title")
        before = snapshot(round, ["title"])
        round.title = title[:120]
        round.save(update_fields=["title", "updated_at"])
        changes = diff(before, snapshot(round, ["title"]))
        if changes:
            record_change(round, ChangeAction.UPDATE, by, changes, acting_unit=round.unit)
    return round


def _lock_round(round: AppraisalRound) -> AppraisalRound:
    AppraisalRound.objects.select_for_update().filter(pk=round.pk).values_list("pk", flat=True).get()
    return AppraisalRound.objects.select_related("unit__level").get(pk=round.pk)


def _lock_entry(entry: AppraisalEntry) -> AppraisalEntry:
    AppraisalEntry.objects.select_for_update().filter(pk=entry.pk).values_list("pk", flat=True).get()
    return AppraisalEntry.objects.select_related("round__unit__level", "user", "unit").get(pk=entry.pk)


def _check_open(round: AppraisalRound, field: str) -> None:
    if round.is_finalised:
        raise ValidationError(
            {field: _("%(title)s is finalised: nothing in it changes any more.") % {"title": round.title}}
        )


def _check_population_editable(round: AppraisalRound, field: str) -> None:
    _check_open(round, field)
    if round.entries.rated().exists():
        raise ValidationError(
            {field: _("The ratings have begun: the people appraised in this round no longer change.")}
        )


def add_person(round: AppraisalRound, *, by, user: User) -> AppraisalEntry:
    """Add someone who held a grid post under the round's unit during its year and is in no other round."""
    _require_appraiser(by, round)
    with transaction.atomic():
        round = _lock_round(round)
        _check_population_editable(round, "user")
        other = AppraisalEntry.objects.filter(year=round.year, user=user).select_related("round").first()
        if other is not None:
            raise ValidationError(
                {
                    "user": _("%(name)s is already appraised for %(year)s in %(title)s.")
                    % {"name": person_name(user), "year": round.year, "title": other.round.title}
                }
            )
        post = _posts_in_year(round.unit, round.year).filter(user=user).first()
        if post is None or not user.is_active:
            raise ValidationError(
                {
                    "user": _("%(name)s held no grid post under %(unit)s in %(year)s.")
                    % {"name": person_name(user), "unit": round.unit.name, "year": round.year}
                }
            )
        try:
            with transaction.atomic():
                entry = AppraisalEntry.objects.create(round=round, year=round.year, **_entry_values(post))
        except IntegrityError as exc:
            raise ValidationError(
                {
                    "user": _("%(name)s was just added to an appraisal of this year.")
                    % {"name": person_name(user)}
                }
            ) from exc
        record_change(entry, ChangeAction.CREATE, by, {"after": snapshot(entry)}, acting_unit=round.unit)
        _notify_opened_one(round, user)
    return entry


def _notify_opened_one(round: AppraisalRound, user: User) -> None:
    notify(
        [user],
        NotificationKind.APPRAISAL,
        _("Annual appraisal %(year)s: write your self-report") % {"year": round.year},
        _("%(title)s has begun. Write your self-report (个人述职) on the appraisal page.")
        % {"title": round.title},
        reverse("annual:mine"),
    )


def remove_entry(entry: AppraisalEntry, *, by) -> None:
    """Take someone out of a round before the ratings begin (their self-report and ballots go with them)."""
    round = entry.round
    _require_appraiser(by, round)
    with transaction.atomic():
        round = _lock_round(round)
        _check_population_editable(round, "user")
        if round.entries.count() <= 1:
            raise ValidationError({"user": _("A round appraises at least one person.")})
        entry = AppraisalEntry.objects.select_related("user").get(pk=entry.pk)
        record_change(
            entry,
            ChangeAction.DELETE,
            by,
            {"before": snapshot(entry), "ballots": entry.ballots.count()},
            acting_unit=round.unit,
        )
        entry.delete()


# --- the steps ----------------------------------------------------------------------------------------------


def _check_steps_open(entry: AppraisalEntry, field: str) -> None:
    _check_open(entry.round, field)
    if entry.is_rated:
        raise ValidationError(
            {
                field: _("%(name)s is already rated: the steps of this appraisal no longer change.")
                % {"name": person_name(entry.user)}
            }
        )


def _update_entry(entry: AppraisalEntry, by, values: dict) -> AppraisalEntry:
    fields = list(values)
    before = snapshot(entry, fields)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.save(update_fields=[*fields, "updated_at"])
    changes = diff(before, snapshot(entry, fields))
    if changes:
        record_change(entry, ChangeAction.UPDATE, by, changes, acting_unit=entry.round.unit)
    return entry


def may_write_self_report(user, entry: AppraisalEntry) -> bool:
    return (
        user is not None
        and user.is_authenticated
        and (user.pk == entry.user_id or may_appraise(user, entry.round.unit))
    )


def write_self_report(entry: AppraisalEntry, *, by, text: str) -> AppraisalEntry:
    """个人述职: the person writes it, or an appraiser enters it for them (from paper)."""
    if not may_write_self_report(by, entry):
        raise PermissionDenied(
            _("A self-report is written by the person appraised or entered by an appraiser.")
        )
    text = (text or "").strip()
    if not text:
        raise ValidationError({"self_report": _("Write the self-report: what you did this year.")})
    if len(text) > MAX_TEXT:
        raise ValidationError({"self_report": _("At most %(n)s characters.") % {"n": MAX_TEXT}})
    with transaction.atomic():
        entry = _lock_entry(entry)
        _check_steps_open(entry, "self_report")
        return _update_entry(
            entry, by, {"self_report": text, "self_report_at": _now(), "self_report_by": _actor(by)}
        )


def _count(value, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise ValidationError({field: _("A number of votes is a whole number, 0 or more.")})
    return number


def enter_votes(
    entry: AppraisalEntry, *, by, excellent: int, competent: int, incompetent: int
) -> AppraisalEntry:
    """民主测评 by counts: the organiser enters the tallies of a vote held outside the system."""
    _require_other_appraiser(by, entry)
    counts = {
        "votes_excellent": _count(excellent, "votes_excellent"),
        "votes_competent": _count(competent, "votes_competent"),
        "votes_incompetent": _count(incompetent, "votes_incompetent"),
    }
    if sum(counts.values()) == 0:
        raise ValidationError({"votes_excellent": _("Enter the votes cast: at least one.")})
    with transaction.atomic():
        entry = _lock_entry(entry)
        if entry.round.voting != Voting.COUNTS:
            raise ValidationError(
                {"votes_excellent": _("This round collects ballots from the staff: counts are not entered.")}
            )
        _check_steps_open(entry, "votes_excellent")
        return _update_entry(
            entry, by, {**counts, "votes_entered_at": _now(), "votes_entered_by": _actor(by)}
        )


def record_onsite_check(
    entry: AppraisalEntry, *, by, findings: str, score: int | None = None
) -> AppraisalEntry:
    """实地查看: what the appraiser found in the person's grid, with a score out of 100 if given."""
    _require_other_appraiser(by, entry)
    findings = (findings or "").strip()
    if not findings:
        raise ValidationError({"onsite_findings": _("Say what the on-site check found.")})
    if len(findings) > MAX_TEXT:
        raise ValidationError({"onsite_findings": _("At most %(n)s characters.") % {"n": MAX_TEXT}})
    if score is not None:
        try:
            score = int(score)
        except (TypeError, ValueError):
            score = -1
        if not 0 <= score <= 100:
            raise ValidationError({"onsite_score": _("A score runs from 0 to 100.")})
    with transaction.atomic():
        entry = _lock_entry(entry)
        _check_steps_open(entry, "onsite_findings")
        return _update_entry(
            entry,
            by,
            {
                "onsite_findings": findings,
                "onsite_score": score,
                "onsite_at": _now(),
                "onsite_by": _actor(by),
            },
        )


# --- ballots ------------------------------------------------------------------------------------------------


def voter_paths(voter, on: datetime.date) -> list[str]:
    """Unit paths of the voter's staff posts on `on`: they vote in rounds run at or above these units."""
    if voter is None or not voter.is_authenticated or not voter.is_active:
        return []
    return list(
        Post.objects.active(on)
        .filter(user=voter)
        .exclude(role__in=NON_STAFF_ROLES)
        .values_list("unit__path", flat=True)
    )


def _in_subtree(paths: Iterable[str], unit: Unit) -> bool:
    return any(path.startswith(unit.path) for path in paths)


def _ballot_refusal(entry: AppraisalEntry, voter, choice: str, paths: list[str]) -> tuple[str, str] | None:
    """(field, message) of the rule a ballot breaks, or None."""
    round = entry.round
    if choice not in Rating.values:
        return "choice", _("Choose excellent, competent or incompetent.")
    if round.voting != Voting.BALLOTS:
        return "entry", _("%(title)s takes entered vote counts, not ballots.") % {"title": round.title}
    if round.is_finalised:
        return "entry", _("%(title)s is finalised: nothing in it changes any more.") % {"title": round.title}
    if voter.pk == entry.user_id:
        return "voter", _("Nobody votes on themself.")
    if not _in_subtree(paths, round.unit):
        return "voter", _("Only the staff of %(unit)s vote in its democratic rating.") % {
            "unit": round.unit.name
        }
    if entry.is_rated:
        return "entry", _("%(name)s is already rated: the vote on them is closed.") % {
            "name": person_name(entry.user)
        }
    return None


def cast_ballots(
    *, voter, choices: Mapping[AppraisalEntry, str], on: datetime.date | None = None
) -> list[Ballot]:
    """The voter's votes on several colleagues at once; all or none. A refusal is a ValidationError on
    `vote_<entry id>`. One ballot per voter and colleague: a second one is refused."""
    on = on or timezone.localdate()
    if voter is None or not voter.is_authenticated:
        raise PermissionDenied(_("Sign in to vote."))
    if not choices:
        raise ValidationError({"choice": _("Give at least one vote.")})
    paths = voter_paths(voter, on)
    now = _now()
    ballots = []
    errors: dict[str, str] = {}
    try:
        with transaction.atomic():
            by_pk = {entry.pk: choice for entry, choice in choices.items()}
            locked = list(
                AppraisalEntry.objects.select_for_update()
                .filter(pk__in=list(by_pk))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            entries = AppraisalEntry.objects.select_related("round__unit", "user").in_bulk(locked)
            voted = set(
                Ballot.objects.filter(voter=voter, entry_id__in=locked).values_list("entry_id", flat=True)
            )
            for pk in sorted(by_pk):
                entry = entries.get(pk)
                if entry is None:
                    errors[f"vote_{pk}"] = _("This appraisal no longer exists.")
                    continue
                refusal = _ballot_refusal(entry, voter, by_pk[pk], paths)
                if refusal is None and pk in voted:
                    refusal = (
                        "voter",
                        _("You have already voted on %(name)s.") % {"name": person_name(entry.user)},
                    )
                if refusal is not None:
                    errors[f"vote_{pk}"] = refusal[1]
            if errors:
                raise ValidationError(errors)
            tally = {
                Rating.EXCELLENT: "votes_excellent",
                Rating.COMPETENT: "votes_competent",
                Rating.INCOMPETENT: "votes_incompetent",
            }
            for pk in sorted(by_pk):
                choice = by_pk[pk]
                ballots.append(Ballot(entry_id=pk, voter=voter, choice=choice, cast_at=now))
                AppraisalEntry.objects.filter(pk=pk).update(
                    **{tally[choice]: F(tally[choice]) + 1}, updated_at=now
                )
            Ballot.objects.bulk_create(ballots)
            # Ballots are secret: the change log records that a vote was cast and by whom, not what it said.
            record_changes(((b, ChangeAction.CREATE, {"entry": b.entry_id}) for b in ballots), user=voter)
    except IntegrityError as exc:
        raise ValidationError({"choice": _("You have already voted on one of these colleagues.")}) from exc
    return ballots


def cast_ballot(entry: AppraisalEntry, *, voter, choice: str, on: datetime.date | None = None) -> Ballot:
    """One vote on one colleague; a refusal is a ValidationError on "voter", "choice" or "entry"."""
    on = on or timezone.localdate()
    if voter is None or not voter.is_authenticated:
        raise PermissionDenied(_("Sign in to vote."))
    entry = AppraisalEntry.objects.select_related("round__unit", "user").get(pk=entry.pk)
    refusal = _ballot_refusal(entry, voter, choice, voter_paths(voter, on))
    if refusal is not None:
        raise ValidationError({refusal[0]: refusal[1]})
    try:
        return cast_ballots(voter=voter, choices={entry: choice}, on=on)[0]
    except ValidationError as error:
        messages = [m for ms in error.message_dict.values() for m in ms]
        raise ValidationError({"voter": messages}) from error


@dataclass
class BallotSheet:
    """A voter's view of one round: the colleagues still to vote on and those voted on."""

    round: AppraisalRound
    pending: list[AppraisalEntry]
    voted: list[AppraisalEntry]


def ballot_sheets(voter, on: datetime.date | None = None) -> list[BallotSheet]:
    """The ballot rounds under way in which `voter` votes, each with the colleagues to vote on (their own
    village's first) and those already voted on; the voter's own entry is left out."""
    on = on or timezone.localdate()
    paths = voter_paths(voter, on)
    if not paths:
        return []
    prefixes = {prefix for path in paths for prefix in Unit.path_prefixes(path)}
    rounds = list(
        AppraisalRound.objects.filter(
            status=RoundStatus.OPEN, voting=Voting.BALLOTS, unit__path__in=sorted(prefixes)
        )
        .select_related("unit")
        .order_by("-year", "unit__path")
    )
    if not rounds:
        return []
    entries = (
        AppraisalEntry.objects.filter(round__in=rounds)
        .exclude(user=voter)
        .select_related("user", "unit")
        .order_by("round_id", "unit__path", "user__full_name", "id")
    )
    voted = set(
        Ballot.objects.filter(voter=voter, entry__round__in=rounds).values_list("entry_id", flat=True)
    )
    own = sorted(paths)
    sheets = {r.pk: BallotSheet(r, [], []) for r in rounds}

    def nearness(entry):
        # Colleagues sharing the longest path prefix with one of the voter's posts come first.
        return -max(len(_common(entry.unit.path, path)) for path in own)

    rows = sorted(entries, key=lambda e: (e.round_id, nearness(e), e.unit.path, person_name(e.user), e.pk))
    for entry in rows:
        sheet = sheets[entry.round_id]
        if entry.pk in voted:
            sheet.voted.append(entry)
        elif not entry.is_rated:
            sheet.pending.append(entry)
    return [sheets[r.pk] for r in rounds]


def _common(a: str, b: str) -> str:
    step = Unit.steplen
    n = 0
    while n + step <= min(len(a), len(b)) and a[n : n + step] == b[n : n + step]:
        n += step
    return a[:n]


# --- the rating ---------------------------------------------------------------------------------------------


def cap_message(people: int, share: int, rated: int) -> str:
    """Why one more 优秀 is refused, with the figures (seed 002: 优秀等次占比不超过15%)."""
    cap = excellent_cap(people, share)
    if cap == 0:
        return _(
            "At most %(share)s%% of a round may be rated excellent: this round has %(people)s people, and "
            "%(share)s%% of %(people)s rounds down to 0, so nobody here can be rated excellent. Small units "
            "can be appraised together in a round of the level above."
        ) % {"share": share, "people": people}
    return _(
        "At most %(share)s%% of a round may be rated excellent: this round has %(people)s people, so at "
        "most %(cap)s, and %(rated)s are already rated excellent."
    ) % {"share": share, "people": people, "cap": cap, "rated": rated}


def rate(entry: AppraisalEntry, *, by, rating: str, note: str = "") -> AppraisalEntry:
    """Give (or change, until the round is finalised) the rating. The round's row is locked first: the
    cap on 优秀 holds when two appraisers rate at the same moment."""
    _require_other_appraiser(by, entry)
    note = (note or "").strip()
    if rating not in Rating.values:
        raise ValidationError({"rating": _("Choose excellent, competent or incompetent.")})
    if rating == Rating.INCOMPETENT and not note:
        raise ValidationError(
            {"rating_note": _("Give the grounds: an incompetent rating leads to dismissal.")}
        )
    if len(note) > MAX_TEXT:
        raise ValidationError({"rating_note": _("At most %(n)s characters.") % {"n": MAX_TEXT}})
    with transaction.atomic():
        round = _lock_round(entry.round)
        _check_open(round, "rating")
        entry = _lock_entry(entry)
        if not entry.has_self_report:
            raise ValidationError(
                {
                    "rating": _("Rate after the self-report (个人述职): %(name)s has none yet.")
                    % {"name": person_name(entry.user)}
                }
            )
        if not entry.has_votes:
            raise ValidationError(
                {
                    "rating": _("Rate after the democratic rating (民主测评): no votes on %(name)s yet.")
                    % {"name": person_name(entry.user)}
                }
            )
        if rating == Rating.EXCELLENT and entry.rating != Rating.EXCELLENT:
            people = round.entries.count()
            rated = round.entries.filter(rating=Rating.EXCELLENT).count()
            if rated >= excellent_cap(people, round.excellent_share):
                raise ValidationError({"rating": cap_message(people, round.excellent_share, rated)})
        return _update_entry(
            entry, by, {"rating": rating, "rating_note": note, "rated_at": _now(), "rated_by": _actor(by)}
        )


def finalise(round: AppraisalRound, *, by) -> AppraisalRound:
    """Freeze the round once everyone is rated: the ratings are final, nothing in it changes any more."""
    _require_appraiser(by, round)
    with transaction.atomic():
        round = _lock_round(round)
        _check_open(round, "status")
        unrated = round.entries.filter(rating="").count()
        if unrated:
            raise ValidationError(
                {
                    "status": _("%(n)s people are not rated yet: rate everyone before finalising.")
                    % {"n": unrated}
                }
            )
        before = snapshot(round, ["status", "finalised_at", "finalised_by"])
        round.status = RoundStatus.FINALISED
        round.finalised_at = _now()
        round.finalised_by = by
        round.save(update_fields=["status", "finalised_at", "finalised_by", "updated_at"])
        changes = diff(before, snapshot(round, ["status", "finalised_at", "finalised_by"]))
        changes["ratings"] = dict(Counter(round.entries.values_list("rating", flat=True)))
        record_change(round, ChangeAction.UPDATE, by, changes, acting_unit=round.unit)
    return round


# --- consequences -------------------------------------------------------------------------------------------


def _final_entry(entry: AppraisalEntry, field: str) -> AppraisalEntry:
    entry = _lock_entry(entry)
    if not entry.round.is_finalised:
        raise ValidationError({field: _("This follows the final rating: finalise the round first.")})
    return entry


def final_rating(user, year: int) -> str:
    """The person's final rating for `year` ("" when there is none yet)."""
    return (
        AppraisalEntry.objects.filter(user=user, year=year, round__status=RoundStatus.FINALISED)
        .values_list("rating", flat=True)
        .first()
        or ""
    )


def barred_from_awards(user, year: int) -> bool:
    """Seed 002: 不合格 → 取消该年度各类评优评先资格. Other apps giving honours ask this."""
    return final_rating(user, year) == Rating.INCOMPETENT


def dismiss(entry: AppraisalEntry, *, by, on: datetime.date | None = None) -> list[Post]:
    """解聘: end the incompetent person's grid posts under the round's unit; they hold them until `on`
    (today by default). Returns the posts ended. A post starting after `on` is refused, to be dealt with
    in the staff records first."""
    on = on or timezone.localdate()
    _require_other_appraiser(by, entry)
    with transaction.atomic():
        entry = _final_entry(entry, "dismissed_on")
        round = entry.round
        if entry.rating != Rating.INCOMPETENT:
            raise ValidationError({"dismissed_on": _("Only a person rated incompetent is dismissed.")})
        if entry.dismissed_on is not None:
            raise ValidationError(
                {
                    "dismissed_on": _("Already dismissed: the posts ended on %(date)s.")
                    % {"date": entry.dismissed_on.isoformat()}
                }
            )
        if on < round.finalised_at.astimezone(timezone.get_current_timezone()).date():
            raise ValidationError(
                {"dismissed_on": _("A dismissal takes effect after the round is finalised.")}
            )
        posts = list(
            Post.objects.select_for_update(of=("self",))
            .filter(user=entry.user, role__in=GRID_ROLES, unit__path__startswith=round.unit.path)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=on))
            .order_by("unit__path", "id")
        )
        later = [post for post in posts if post.start_date > on]
        if later:
            raise ValidationError(
                {
                    "dismissed_on": _(
                        "%(name)s has a grid post starting on %(date)s: change it in the staff records first."
                    )
                    % {"name": person_name(entry.user), "date": later[0].start_date.isoformat()}
                }
            )
        for post in posts:
            before = snapshot(post, ["end_date"])
            post.end_date = on
            post.save(update_fields=["end_date", "updated_at"])
            record_change(
                post,
                ChangeAction.UPDATE,
                by,
                {**diff(before, snapshot(post, ["end_date"])), "reason": "annual appraisal: incompetent"},
                acting_unit=round.unit,
            )
        _update_entry(entry, by, {"dismissed_on": on, "dismissed_by": _actor(by)})
    return posts


def circulate_notice(
    entry: AppraisalEntry, *, by, text: str, on: datetime.date | None = None
) -> AppraisalEntry:
    """通报: record the notice circulated about an incompetent rating, once."""
    on = on or timezone.localdate()
    _require_other_appraiser(by, entry)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"notice_text": _("Write the notice as it is circulated.")})
    if len(text) > MAX_TEXT:
        raise ValidationError({"notice_text": _("At most %(n)s characters.") % {"n": MAX_TEXT}})
    with transaction.atomic():
        entry = _final_entry(entry, "notice_text")
        if entry.rating != Rating.INCOMPETENT:
            raise ValidationError(
                {"notice_text": _("A notice is circulated about an incompetent rating only.")}
            )
        if entry.noticed_on is not None:
            raise ValidationError(
                {
                    "notice_text": _("The notice was circulated on %(date)s.")
                    % {"date": entry.noticed_on.isoformat()}
                }
            )
        return _update_entry(entry, by, {"notice_text": text, "noticed_on": on, "noticed_by": _actor(by)})


def default_award_title() -> str:
    return _("Outstanding grid worker")


def award_units(user, entry: AppraisalEntry):
    """Units that may give `entry` an award: the round's unit and those above it where `user` appraises."""
    return (
        Unit.objects.filter(path__in=Unit.path_prefixes(entry.round.unit.path))
        .granting(user, Capability.APPRAISE)
        .order_by("-depth")
    )


def award(
    entry: AppraisalEntry, *, by, unit: Unit | None = None, title: str = "", on: datetime.date | None = None
) -> Award:
    """评选表彰: honour a person rated excellent in a finalised round (优秀网格员 by default). The awarding
    unit is the round's unit (by default) or one above it, where `by` appraises. Nobody rated incompetent
    that year is honoured."""
    on = on or timezone.localdate()
    unit = unit or entry.round.unit
    title = (title or "").strip()[:64] or default_award_title()
    if not entry.round.unit.path.startswith(unit.path):
        raise ValidationError(
            {
                "unit": _("An award for this appraisal is given by %(unit)s or a unit above it.")
                % {"unit": entry.round.unit.name}
            }
        )
    if not may_appraise(by, unit):
        raise PermissionDenied(_("You do not give awards at %(unit)s.") % {"unit": unit.name})
    if by.pk == entry.user_id:
        raise PermissionDenied(_("Nobody gives themself an award."))
    duplicate = ValidationError(
        {
            "title": _("%(name)s already holds %(title)s for %(year)s.")
            % {"name": person_name(entry.user), "title": title, "year": entry.year}
        }
    )
    try:
        with transaction.atomic():
            entry = _lock_entry(entry)
            if barred_from_awards(entry.user, entry.year) or entry.rating == Rating.INCOMPETENT:
                raise ValidationError(
                    {
                        "user": _("%(name)s was rated incompetent for %(year)s: no awards for that year.")
                        % {"name": person_name(entry.user), "year": entry.year}
                    }
                )
            if not entry.round.is_finalised:
                raise ValidationError(
                    {"user": _("Awards follow the final rating: finalise the round first.")}
                )
            if entry.rating != Rating.EXCELLENT:
                raise ValidationError(
                    {"user": _("Only a person rated excellent is given %(title)s.") % {"title": title}}
                )
            if Award.objects.filter(year=entry.year, user=entry.user, title=title).exists():
                raise duplicate
            honour = Award.objects.create(
                year=entry.year,
                user=entry.user,
                title=title,
                unit=unit,
                entry=entry,
                awarded_on=on,
                awarded_by=by,
            )
            record_change(honour, ChangeAction.CREATE, by, {"after": snapshot(honour)}, acting_unit=unit)
    except IntegrityError as exc:
        raise duplicate from exc
    return honour


def flag_entry(entry: AppraisalEntry, *, by, kind: str, reason: str = "", on: datetime.date | None = None):
    """TEAM-9 from the appraisal: put the person forward for party development or the village cadre
    reserve pool, through teams.services.flag_worker (which keeps its own rules and change log). Only
    after the final rating, and never for someone rated incompetent."""
    from wangge.teams.services import flag_worker

    _require_other_appraiser(by, entry)
    entry = AppraisalEntry.objects.select_related("round__unit", "user").get(pk=entry.pk)
    if not entry.round.is_finalised:
        raise ValidationError({"kind": _("Flags follow the final rating: finalise the round first.")})
    if entry.rating == Rating.INCOMPETENT:
        raise ValidationError(
            {
                "kind": _("%(name)s was rated incompetent for %(year)s: not put forward that year.")
                % {"name": person_name(entry.user), "year": entry.year}
            }
        )
    reason = (reason or "").strip() or _("Rated %(rating)s in %(title)s.") % {
        "rating": entry.get_rating_display(),
        "title": entry.round.title,
    }
    return flag_worker(by=by, user=entry.user, kind=kind, reason=reason, unit=entry.round.unit, on=on)


# --- figures ------------------------------------------------------------------------------------------------


@dataclass
class RoundFigures:
    people: int
    cap: int
    share: int
    by_rating: dict[str, int]
    self_reports: int
    voted: int
    onsite: int
    dismissed: int
    noticed: int
    awards: int

    @property
    def rated(self) -> int:
        return sum(self.by_rating.values())

    @property
    def excellent(self) -> int:
        return self.by_rating.get(Rating.EXCELLENT, 0)

    @property
    def excellent_left(self) -> int:
        return max(self.cap - self.excellent, 0)

    @property
    def unrated(self) -> int:
        return self.people - self.rated

    def rating_rows(self) -> list[tuple[str, str, int]]:
        return [(value, str(label), self.by_rating.get(value, 0)) for value, label in Rating.choices]


def round_figures(round: AppraisalRound) -> RoundFigures:
    """Counts of a round in two queries: people, steps done, ratings, consequences, awards."""
    figures = round.entries.aggregate(
        people=Count("id"),
        self_reports=Count("id", filter=Q(self_report_at__isnull=False)),
        voted=Count(
            "id",
            filter=Q(votes_entered_at__isnull=False)
            | Q(votes_excellent__gt=0)
            | Q(votes_competent__gt=0)
            | Q(votes_incompetent__gt=0),
        ),
        onsite=Count("id", filter=Q(onsite_at__isnull=False)),
        dismissed=Count("id", filter=Q(dismissed_on__isnull=False)),
        noticed=Count("id", filter=Q(noticed_on__isnull=False)),
        excellent=Count("id", filter=Q(rating=Rating.EXCELLENT)),
        competent=Count("id", filter=Q(rating=Rating.COMPETENT)),
        incompetent=Count("id", filter=Q(rating=Rating.INCOMPETENT)),
    )
    awards = Award.objects.filter(entry__round=round).count()
    return RoundFigures(
        people=figures["people"],
        cap=excellent_cap(figures["people"], round.excellent_share),
        share=round.excellent_share,
        by_rating={r: figures[r] for r in Rating.values},
        self_reports=figures["self_reports"],
        voted=figures["voted"],
        onsite=figures["onsite"],
        dismissed=figures["dismissed"],
        noticed=figures["noticed"],
        awards=awards,
    )


def round_list_figures(rounds) -> dict[int, dict]:
    """{round id: people, rated and excellent counts} for a page of rounds, in one query."""
    ids = [round.pk for round in rounds]
    rows = {
        row["round_id"]: row
        for row in AppraisalEntry.objects.filter(round_id__in=ids)
        .values("round_id")
        .annotate(
            people=Count("id"),
            rated=Count("id", filter=~Q(rating="")),
            excellent=Count("id", filter=Q(rating=Rating.EXCELLENT)),
        )
    }
    result = {}
    for round in rounds:
        row = rows.get(round.pk, {"people": 0, "rated": 0, "excellent": 0})
        result[round.pk] = {
            "people": row["people"],
            "rated": row["rated"],
            "excellent": row["excellent"],
            "cap": excellent_cap(row["people"], round.excellent_share),
        }
    return result


def voter_count(round: AppraisalRound, on: datetime.date | None = None) -> int:
    """How many staff vote in the round's democratic rating today."""
    on = on or timezone.localdate()
    return (
        Post.objects.active(on)
        .filter(unit__path__startswith=round.unit.path, user__is_active=True)
        .exclude(role__in=NON_STAFF_ROLES)
        .values("user_id")
        .distinct()
        .count()
    )


def report_entries(round: AppraisalRound):
    """The round's entries for its report and exports, with everything a row shows."""
    return (
        AppraisalEntry.objects.filter(round=round)
        .select_related("user", "unit")
        .prefetch_related("awards")
        .order_by("unit__path", "user__full_name", "id")
    )
