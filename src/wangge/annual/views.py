"""The annual appraisal pages: rounds (list, opening, detail with each entry's progress, report with its
Excel and PDF), one entry's steps and consequences, the ballot page where the staff vote on their
colleagues, my appraisal (the person's own entries and self-report) and the awards.

Rounds and entries come from `visible_to` and `get_visible_or_404`: a round is read by the appraisers of
its unit or of a unit above it, so another village's round answers 404 like a missing one. A user whose
posts grant no APPRAISE anywhere gets 403 on the appraisers' pages; a person reaches their own entry
through "my appraisal" only.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from wangge.appraisal.services import ordinary_scores
from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.people.roles import Capability
from wangge.teams.models import PipelineFlag

from . import exports, services
from .choices import CONSEQUENCES, Rating, Voting
from .forms import (
    AddPersonForm,
    AwardForm,
    BallotForm,
    DismissForm,
    FlagForm,
    NoticeForm,
    OnsiteForm,
    RatingForm,
    RoundForm,
    SelfReportForm,
    VotesForm,
)
from .models import AppraisalEntry, AppraisalRound, Award

PAGE_SIZE = 50


def _require_appraiser(request) -> None:
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not user.has_capability(Capability.APPRAISE):
        raise PermissionDenied(_("Your posts do not include appraising staff."))


def _render(request, template: str, context: dict, status: int = 200):
    """render() with what the app's tabs need: whether the user appraises anywhere."""
    context["is_appraiser"] = request.user.has_capability(Capability.APPRAISE)
    return render(request, template, context, status=status)


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


def _load_round(request, pk) -> AppraisalRound:
    _require_appraiser(request)
    return get_visible_or_404(
        AppraisalRound.objects.select_related("unit__level", "opened_by", "finalised_by"), request.user, pk=pk
    )


# ---------------------------------------------------------------------------------------------------
# Rounds


@login_required
@require_safe
def round_list(request):
    """The rounds the user appraises, newest year first."""
    _require_appraiser(request)
    user = request.user
    rounds = (
        AppraisalRound.objects.visible_to(user).select_related("unit__level").order_by("-year", "unit__path")
    )
    page = Paginator(rounds, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    figures = services.round_list_figures(rows)
    for round in rows:
        round.figures = figures[round.pk]
    return _render(
        request,
        "annual/list.html",
        {
            "page": page,
            "rows": rows,
            "page_query": _query_without(request, "page"),
            "can_open": services.appraising_units(user).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def round_create(request):
    _require_appraiser(request)
    user = request.user
    units = services.appraising_units(user)
    if not units.exists():
        raise PermissionDenied(_("You appraise at no county, township or village/community."))
    today = timezone.localdate()
    if request.method == "POST":
        form = RoundForm(request.POST, units=units)
        if form.is_valid():
            data = form.cleaned_data
            try:
                round = services.open_round(
                    by=user,
                    unit=data["unit"],
                    year=data["year"],
                    reference_date=data["reference_date"],
                    voting=data["voting"],
                    title=data["title"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("%(title)s is open: %(n)s people to appraise.")
                    % {"title": round.title, "n": round.entries.count()},
                )
                return redirect("annual:detail", pk=round.pk)
    else:
        # An appraisal is usually held at the turn of the year: early in the year, the year just ended.
        year = today.year - 1 if today.month <= 3 else today.year
        form = RoundForm(units=units, initial={"year": year, "unit": units.first()})
    return _render(request, "annual/create.html", {"form": form})


def _detail_context(request, round: AppraisalRound, *, add_form=None) -> dict:
    user = request.user
    entries = round.entries.select_related("user", "unit").order_by("unit__path", "user__full_name", "id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    figures = services.round_figures(round)
    editable = not round.is_finalised and figures.rated == 0 and services.may_appraise(user, round.unit)
    if editable and add_form is None:
        candidates = services.candidates(round)
        add_form = AddPersonForm(candidates=candidates) if candidates else None
    return {
        "round": round,
        "page": page,
        "rows": list(page.object_list),
        "page_query": _query_without(request, "page"),
        "figures": figures,
        "editable": editable,
        "add_form": add_form if editable else None,
        "can_finalise": not round.is_finalised and figures.people > 0 and figures.unrated == 0,
        "voters": services.voter_count(round) if round.voting == Voting.BALLOTS else None,
        "small_round": figures.cap == 0,
    }


@login_required
@require_safe
def round_detail(request, pk):
    round = _load_round(request, pk)
    return _render(request, "annual/detail.html", _detail_context(request, round))


@login_required
@require_POST
def add_person(request, pk):
    round = _load_round(request, pk)
    form = AddPersonForm(request.POST, candidates=services.candidates(round))
    if form.is_valid():
        try:
            entry = services.add_person(round, by=request.user, user=form.cleaned_data["user"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s is added.") % {"name": services.person_name(entry.user)})
            return redirect("annual:detail", pk=round.pk)
    return _render(request, "annual/detail.html", _detail_context(request, round, add_form=form), status=400)


@login_required
@require_POST
def remove_entry(request, pk):
    entry = _load_entry_for_appraiser(request, pk)
    try:
        services.remove_entry(entry, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(name)s is taken out of the round.") % {"name": services.person_name(entry.user)}
        )
    return redirect("annual:detail", pk=entry.round_id)


@login_required
@require_POST
def finalise(request, pk):
    round = _load_round(request, pk)
    try:
        services.finalise(round, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(title)s is finalised: the ratings are final.") % {"title": round.title}
        )
    return redirect("annual:detail", pk=round.pk)


# ---------------------------------------------------------------------------------------------------
# The report and its files


@login_required
@require_safe
def round_report(request, pk):
    round = _load_round(request, pk)
    page = Paginator(services.report_entries(round), PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "annual/report.html",
        {
            "round": round,
            "figures": services.round_figures(round),
            "page": page,
            "rows": list(page.object_list),
            "page_query": _query_without(request, "page"),
        },
    )


@login_required
@require_safe
def report_xlsx(request, pk):
    round = _load_round(request, pk)
    out = io.BytesIO()
    exports.write_report_xlsx(round, services.report_entries(round), services.round_figures(round), out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{round.title}.xlsx")
    return response


@login_required
@require_safe
def report_pdf(request, pk):
    import weasyprint  # loads Pango and fonts: only this view needs it

    round = _load_round(request, pk)
    html = render_to_string(
        "annual/report_print.html",
        {
            "round": round,
            "figures": services.round_figures(round),
            "rows": services.report_entries(round),
            "today": timezone.localdate(),
        },
        request=request,
    )
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{round.title}.pdf")
    return response


# ---------------------------------------------------------------------------------------------------
# One entry


def _load_entry(request, pk) -> AppraisalEntry:
    return get_visible_or_404(
        AppraisalEntry.objects.select_related(
            "round__unit__level",
            "user",
            "unit",
            "self_report_by",
            "votes_entered_by",
            "onsite_by",
            "rated_by",
            "dismissed_by",
            "noticed_by",
        ),
        request.user,
        pk=pk,
    )


def _load_entry_for_appraiser(request, pk) -> AppraisalEntry:
    _require_appraiser(request)
    entry = _load_entry(request, pk)
    if not services.may_appraise(request.user, entry.round.unit):
        raise PermissionDenied(
            _("Only an appraiser of %(unit)s or of a unit above it may do this.")
            % {"unit": entry.round.unit.name}
        )
    return entry


def _entry_context(request, entry: AppraisalEntry, **bound) -> dict:
    user = request.user
    round = entry.round
    other = user.pk != entry.user_id
    steps_open = not round.is_finalised and not entry.is_rated
    final = round.is_finalised
    forms: dict = {}
    if steps_open:
        forms["self_report_form"] = SelfReportForm(initial={"self_report": entry.self_report})
        if other and round.voting == Voting.COUNTS:
            forms["votes_form"] = VotesForm(
                initial={
                    "votes_excellent": entry.votes_excellent,
                    "votes_competent": entry.votes_competent,
                    "votes_incompetent": entry.votes_incompetent,
                }
            )
        if other:
            forms["onsite_form"] = OnsiteForm(
                initial={"onsite_findings": entry.onsite_findings, "onsite_score": entry.onsite_score}
            )
    ready = entry.has_self_report and entry.has_votes
    if not final and other and ready:
        forms["rating_form"] = RatingForm(initial={"rating": entry.rating, "rating_note": entry.rating_note})
    awards = list(entry.awards.select_related("unit", "awarded_by"))
    if final and other:
        if entry.rating == Rating.INCOMPETENT:
            if entry.dismissed_on is None:
                forms["dismiss_form"] = DismissForm(initial={"dismissed_on": timezone.localdate()})
            if entry.noticed_on is None:
                forms["notice_form"] = NoticeForm()
        else:
            if entry.rating == Rating.EXCELLENT:
                units = services.award_units(user, entry)
                if units.exists():
                    forms["award_form"] = AwardForm(
                        units=units,
                        initial={"unit": entry.round.unit, "title": services.default_award_title()},
                    )
            forms["flag_form"] = FlagForm()
    for name, form in bound.items():
        forms[name] = form
    flags = list(
        PipelineFlag.objects.visible_to(user)
        .filter(user=entry.user, withdrawn_on__isnull=True)
        .select_related("unit")
        .order_by("kind")
    )
    return {
        "entry": entry,
        "round": round,
        "figures": services.round_figures(round),
        "ready": ready,
        "steps_open": steps_open,
        "consequence": CONSEQUENCES.get(entry.rating, "") if entry.rating else "",
        "awards": awards,
        "flags": flags,
        "is_self": not other,
        # 平时考核: the year's stored monthly scores (注重平时考核, seed 002), beside the steps.
        "ordinary_score": ordinary_scores([entry.user_id], round.year).get(entry.user_id),
        **forms,
    }


@login_required
@require_safe
def entry_detail(request, pk):
    entry = _load_entry(request, pk)
    if not services.may_appraise(request.user, entry.round.unit):
        return redirect("annual:mine")  # visible but not appraised by this user: it is their own entry
    return _render(request, "annual/entry.html", _entry_context(request, entry))


def _entry_action(request, pk, form_name, form_class, call, success, form_kwargs=None):
    """POST of one step's form: the service decides; on refusal the entry page shows the form's errors."""
    entry = _load_entry_for_appraiser(request, pk)
    form = form_class(request.POST, **(form_kwargs(entry) if form_kwargs else {}))
    if form.is_valid():
        try:
            call(entry, form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, success)
            return redirect("annual:entry", pk=entry.pk)
    entry = _load_entry(request, pk)
    return _render(
        request, "annual/entry.html", _entry_context(request, entry, **{form_name: form}), status=400
    )


@login_required
@require_POST
def entry_self_report(request, pk):
    return _entry_action(
        request,
        pk,
        "self_report_form",
        SelfReportForm,
        lambda entry, data: services.write_self_report(entry, by=request.user, text=data["self_report"]),
        _("The self-report is saved."),
    )


@login_required
@require_POST
def entry_votes(request, pk):
    return _entry_action(
        request,
        pk,
        "votes_form",
        VotesForm,
        lambda entry, data: services.enter_votes(
            entry,
            by=request.user,
            excellent=data["votes_excellent"],
            competent=data["votes_competent"],
            incompetent=data["votes_incompetent"],
        ),
        _("The vote counts are saved."),
    )


@login_required
@require_POST
def entry_onsite(request, pk):
    return _entry_action(
        request,
        pk,
        "onsite_form",
        OnsiteForm,
        lambda entry, data: services.record_onsite_check(
            entry, by=request.user, findings=data["onsite_findings"], score=data["onsite_score"]
        ),
        _("The on-site check is saved."),
    )


@login_required
@require_POST
def entry_rate(request, pk):
    return _entry_action(
        request,
        pk,
        "rating_form",
        RatingForm,
        lambda entry, data: services.rate(
            entry, by=request.user, rating=data["rating"], note=data["rating_note"]
        ),
        _("The rating is saved."),
    )


@login_required
@require_POST
def entry_dismiss(request, pk):
    return _entry_action(
        request,
        pk,
        "dismiss_form",
        DismissForm,
        lambda entry, data: services.dismiss(entry, by=request.user, on=data["dismissed_on"]),
        _("The dismissal is recorded and the grid posts end."),
    )


@login_required
@require_POST
def entry_notice(request, pk):
    return _entry_action(
        request,
        pk,
        "notice_form",
        NoticeForm,
        lambda entry, data: services.circulate_notice(entry, by=request.user, text=data["notice_text"]),
        _("The notice is recorded."),
    )


@login_required
@require_POST
def entry_award(request, pk):
    return _entry_action(
        request,
        pk,
        "award_form",
        AwardForm,
        lambda entry, data: services.award(entry, by=request.user, unit=data["unit"], title=data["title"]),
        _("The award is recorded."),
        form_kwargs=lambda entry: {"units": services.award_units(request.user, entry)},
    )


@login_required
@require_POST
def entry_flag(request, pk):
    return _entry_action(
        request,
        pk,
        "flag_form",
        FlagForm,
        lambda entry, data: services.flag_entry(
            entry, by=request.user, kind=data["kind"], reason=data["reason"]
        ),
        _("The person is put forward."),
    )


# ---------------------------------------------------------------------------------------------------
# The staff's pages: ballots and my appraisal


@login_required
@require_http_methods(["GET", "POST"])
def ballot(request):
    """民主测评 on the phone: the colleagues still to vote on in each ballot round the user votes in."""
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    sheets = services.ballot_sheets(user)
    pending = [entry for sheet in sheets for entry in sheet.pending]
    if request.method == "POST":
        form = BallotForm(request.POST, entries=pending)
        if form.is_valid():
            choices = form.choices()
            try:
                cast = services.cast_ballots(voter=user, choices=choices)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("%(n)s votes are cast. Thank you.") % {"n": len(cast)})
                return redirect("annual:ballot")
    else:
        form = BallotForm(entries=pending)
    for sheet in sheets:
        sheet.fields = [form[f"vote_{entry.pk}"] for entry in sheet.pending]
    return _render(
        request,
        "annual/ballot.html",
        {"form": form, "sheets": sheets, "has_pending": bool(pending)},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def mine(request):
    """My appraisal: the user's own entries, the self-report to write, and the final rating once given."""
    user = request.user
    entries = list(
        AppraisalEntry.objects.filter(user=user)
        .select_related("round__unit", "unit")
        .prefetch_related("awards__unit")
        .order_by("-year")
    )
    bound = None
    if request.method == "POST":
        entry = next((e for e in entries if str(e.pk) == request.POST.get("entry")), None)
        if entry is None:
            raise PermissionDenied(_("This is not your appraisal."))
        bound = (entry.pk, SelfReportForm(request.POST))
        form = bound[1]
        if form.is_valid():
            try:
                services.write_self_report(entry, by=user, text=form.cleaned_data["self_report"])
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your self-report is saved."))
                return redirect("annual:mine")
    for entry in entries:
        entry.editable = not entry.round.is_finalised and not entry.is_rated
        if bound and bound[0] == entry.pk:
            entry.form = bound[1]
        elif entry.editable:
            entry.form = SelfReportForm(
                initial={"self_report": entry.self_report}, auto_id=f"id_{entry.pk}_%s"
            )
        entry.consequence = (
            CONSEQUENCES.get(entry.rating, "") if entry.round.is_finalised and entry.rating else ""
        )
    return _render(
        request,
        "annual/mine.html",
        {"entries": entries, "has_ballots": bool(services.ballot_sheets(user))},
        status=400 if bound and bound[1].errors else 200,
    )


@login_required
@require_safe
def award_list(request):
    """优秀网格员 and other honours: those given from the rounds the user appraises, and the user's own."""
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    awards = (
        Award.objects.visible_to(request.user)
        .select_related("user", "unit", "entry__unit", "entry__round")
        .order_by("-year", "unit__path", "user__full_name", "id")
    )
    year = request.GET.get("year", "")
    if year.isdigit():
        awards = awards.filter(year=int(year))
    page = Paginator(awards, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "annual/awards.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "page_query": _query_without(request, "page"),
            "year": year,
            "years": range(timezone.localdate().year, timezone.localdate().year - 6, -1),
        },
    )
