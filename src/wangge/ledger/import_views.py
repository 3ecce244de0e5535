"""The import and export pages: upload → dry-run report → import (all or nothing, or valid rows only),
the templates, and the exports.

Importing needs MANAGE_LEDGERS, templates and exports VIEW_LEDGERS; a user with no post gets 403 and
an anonymous one the login page. An import run is fetched with `get_visible_or_404`, so another
village's report answers 404 like a missing one. Uploaded files are kept under MEDIA_ROOT/imports/
with a random name until they are imported; the stored report holds masked values only.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.people.roles import Capability

from . import exports, imports, privacy, services
from .columns import columns_for
from .models import ImportKind, ImportRun, ImportStatus
from .views import SECTIONS

PAGE_SIZE = 50
RECENT_RUNS = 20
FORMATS = imports.FORMATS
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def _require(request, capability: str) -> None:
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not user.has_capability(capability):
        raise PermissionDenied(_("Your role does not allow this."))


def _kind_and_format(kind: str, fmt: str) -> None:
    if kind not in ImportKind.values or fmt not in FORMATS:
        raise Http404


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=ImportKind.choices)
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Importing unit"), coerce=int, required=False, empty_value=None
    )
    file = forms.FileField(
        label=gettext_lazy("File (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {unit.pk: unit for unit in units}
        self.fields["unit"].choices = [(unit.pk, str(unit)) for unit in units]
        self.fields["unit"].help_text = _("Rows may only name grids and units inside this unit.")
        if units:
            self.fields["unit"].initial = units[0].pk
        limit = settings.WANGGE_MAX_IMPORT_BYTES // (1024 * 1024)
        self.fields["file"].help_text = _(
            "At most %(size)s MB; row 1 holds the template's column headers."
        ) % {"size": limit}

    def clean_unit(self):
        """The chosen unit; the first (highest) post's when none is chosen."""
        chosen = self.cleaned_data["unit"]
        if chosen is None:
            if not self.units:
                raise ValidationError(_("None of your posts keeps ledgers."))
            return next(iter(self.units.values()))
        return self.units[chosen]


class ApplyForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("How to import"),
        choices=imports.ImportMode.choices,
        initial=imports.ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )


@login_required
def import_start(request):
    """Upload a file: it is stored, checked at once (nothing written) and its report opened."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    form = UploadForm(request.POST or None, request.FILES or None, units=imports.importing_units(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = imports.start_run(data["file"], data["kind"], user=user, unit=data["unit"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("unit", str(exc))
        else:
            return redirect("ledger:import_run", run.pk)
    runs = ImportRun.objects.visible_to(user).select_related("unit", "user")[:RECENT_RUNS]
    return render(
        request,
        "ledger/import_start.html",
        {
            "form": form,
            "runs": runs,
            "kinds": ImportKind.choices,
            "formats": FORMATS,
            "sections": SECTIONS,
            "can_unmask": privacy.can_unmask(user),
            "personal_kinds": [kind for kind, fields in exports.PERSONAL_FIELDS.items() if fields],
        },
    )


def _counts(run: ImportRun) -> dict:
    valid = max(run.row_count - run.error_row_count, 0)
    refused = run.status == ImportStatus.REFUSED
    return {
        "rows": run.row_count,
        "errors": run.error_row_count,
        "created": 0 if refused else run.created_count,
        "updated": 0 if refused else run.updated_count,
        "unchanged": 0 if refused else max(valid - run.created_count - run.updated_count, 0),
    }


@login_required
def import_report(request, pk: int):
    """The dry run's (or the import's) report: the totals, every problem by row and column, and the
    choice of how to import."""
    _require(request, Capability.MANAGE_LEDGERS)
    run = get_visible_or_404(ImportRun.objects.select_related("unit", "user"), request.user, pk=pk)
    page = Paginator(run.errors, PAGE_SIZE).get_page(request.GET.get("page"))
    can_apply = (
        run.status == ImportStatus.CHECKED and bool(run.stored_file) and run.user_id == request.user.pk
    )
    return render(
        request,
        "ledger/import_report.html",
        {
            "run": run,
            "page": page,
            "page_query": "",
            "counts": _counts(run),
            "checked": run.status == ImportStatus.CHECKED,
            "form": ApplyForm() if can_apply else None,
            "truncated": len(run.errors) >= imports.MAX_REPORTED_ERRORS,
            "columns": columns_for(run.kind),
            "sections": SECTIONS,
            "mode_label": dict(imports.ImportMode.choices).get(run.mode, ""),
        },
    )


@login_required
@require_POST
def import_apply(request, pk: int):
    """Import a checked file: checked again against the ledger as it is now, then written or refused."""
    _require(request, Capability.MANAGE_LEDGERS)
    run = get_visible_or_404(ImportRun.objects.select_related("unit"), request.user, pk=pk)
    form = ApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to import."))
        return redirect("ledger:import_run", run.pk)
    try:
        run, result = imports.apply_run(run, user=request.user, mode=form.cleaned_data["mode"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except IntegrityError:
        messages.error(
            request,
            _("The ledger changed while the file was being imported; nothing was written. Upload it again."),
        )
    else:
        if result.refused:
            messages.error(
                request,
                _("Refused: %(count)s rows have errors and you chose all or nothing. Nothing was written.")
                % {"count": result.error_row_count},
            )
        else:
            messages.success(
                request,
                _(
                    "Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                    "%(skipped)s rows with errors skipped."
                )
                % {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "skipped": result.skipped,
                },
            )
    return redirect("ledger:import_run", run.pk)


def _attachment(response, filename: str):
    response["Content-Disposition"] = content_disposition_header(True, filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
def template_download(request, kind: str, fmt: str):
    """The empty file to fill in: the header row, and in the .xlsx a 说明 sheet of rules."""
    _require(request, Capability.VIEW_LEDGERS)
    _kind_and_format(kind, fmt)
    filename = f"{exports.FILE_STEMS[kind]}模板.{fmt}"
    if fmt == "xlsx":
        body, content_type = exports.template_xlsx_bytes(kind), XLSX_TYPE
    else:
        body, content_type = exports.template_csv(kind), CSV_TYPE
    return _attachment(HttpResponse(body, content_type=content_type), filename)


@login_required
@require_http_methods(["GET", "POST"])
def export(request, kind: str, fmt: str):
    """The kind's records the user sees (optionally under unit=<code>, a unit they read), in the
    template's columns. Masked; a POST (CSRF-checked, so no link or image can trigger it) with
    unmasked=1 shows the numbers of the records the user may unmask, each one logged."""
    _require(request, Capability.VIEW_LEDGERS)
    _kind_and_format(kind, fmt)
    user = request.user
    params = request.POST if request.method == "POST" else request.GET
    unit = None
    if params.get("unit"):
        unit = services.ledger_units(user, Capability.VIEW_LEDGERS).filter(code=params["unit"]).first()
        if unit is None:
            raise Http404
    unmasked = (
        request.method == "POST"
        and params.get("unmasked") == "1"
        and bool(exports.PERSONAL_FIELDS[kind])
        and privacy.can_unmask(user)
    )
    reveal = exports.revealer(kind, user) if unmasked else None
    objects = exports.export_queryset(kind, user, unit)
    stamp = timezone.localdate().strftime("%Y%m%d")
    filename = f"{exports.FILE_STEMS[kind]}-{unit.code + '-' if unit else ''}{stamp}.{fmt}"
    if fmt == "xlsx":
        out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it when sent)
        exports.write_xlsx(kind, objects, out, reveal=reveal)
        out.seek(0)
        response = FileResponse(out, content_type=XLSX_TYPE)
    else:
        response = StreamingHttpResponse(
            exports.csv_chunks(kind, objects, reveal=reveal), content_type=CSV_TYPE
        )
    return _attachment(response, filename)
