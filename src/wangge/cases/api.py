"""Cases (事件) over the API: the scoped list and page of a case, every step of the loop, the category
tree, the caller's notifications, and the public (no account) report, tracking and rating endpoints.

Every write goes through `cases.services`; this module only turns requests into service calls and the
services' refusals into answers: an impossible step 409 with the steps allowed instead, a stale
`expected_version` 409 with the current version, a forbidden step 403, bad input 400 naming the field,
a case outside the caller's scope 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.api.authentication import AUTHENTICATION_CLASSES
from wangge.api.errors import service_errors
from wangge.api.pagination import BoundedLimitOffsetPagination
from wangge.ledger.models import Household
from wangge.notices import services as notices
from wangge.notices.models import Notification
from wangge.people.models import Department
from wangge.units.models import Unit

from . import serializers as s
from . import services
from .choices import Source
from .filters import CaseFilter
from .models import Assignment, Case, CaseAction, Category, ExtensionRequest
from .throttles import PublicReportThrottle, PublicTrackThrottle

PARSERS = [JSONParser, MultiPartParser, FormParser]


# ---------------------------------------------------------------------------------------------------
# Errors


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, body: dict):
        super().__init__()
        # Set after the base class so numbers stay numbers: DRF would turn every value into a string.
        self.detail = body


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    allowed = serializers.ListField(
        child=s.StepField(choices=s.STEPS),
        required=False,
        help_text=gettext_lazy(
            "When the step is not possible in the case's state: the steps the caller may take."
        ),
    )
    version = serializers.IntegerField(
        required=False,
        help_text=gettext_lazy("When `expected_version` is stale: the case's current version."),
    )


@contextmanager
def case_errors() -> Iterator[None]:
    """service_errors() plus the loop's own refusals, both answered 409."""
    try:
        with service_errors():
            yield
    except services.TransitionRefused as exc:
        raise Conflict({"detail": str(exc), "allowed": s.api_steps(exc.allowed)}) from exc
    except services.StaleCase as exc:
        # Read after the failed transaction is gone: the version its winner committed.
        current = Case.objects.filter(pk=exc.case.pk).values_list("version", flat=True).first()
        raise Conflict({"detail": str(exc), "version": current}) from exc


def field_error(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


STEP_RESPONSES = {
    200: s.CaseDetailSerializer,
    400: OpenApiResponse(description="Bad input: the body names each field and what is wrong with it."),
    403: OpenApiResponse(description="The caller may not take this step on this case."),
    404: OpenApiResponse(description="No such case in the caller's scope."),
    409: OpenApiResponse(
        ConflictSerializer,
        description=(
            "The step is not possible in the case's current state (`allowed` lists what is), or the "
            "case changed since `expected_version` (`version` is the current one)."
        ),
    ),
}


# ---------------------------------------------------------------------------------------------------
# The steps: request body → service call. Each gets the case's pk, the caller and the validated body.


def _version(data) -> int | None:
    return data.get("expected_version")


def _verify(pk, user, d):
    services.verify(
        pk, by=user, note=d["note"], photos=s.PhotosSerializer.photos_of(d), expected_version=_version(d)
    )


def _register(pk, user, d):
    services.register(
        pk,
        by=user,
        category=d.get("category"),
        severity=d.get("severity"),
        petition_channel=d.get("petition_channel", ""),
        note=d["note"],
        expected_version=_version(d),
    )


def _reject(pk, user, d):
    duplicate_of = None
    if d.get("duplicate_of") is not None:
        duplicate_of = Case.objects.visible_to(user).filter(pk=d["duplicate_of"]).first()
        if duplicate_of is None:
            raise field_error("duplicate_of", _("No such case in your area."))
    services.reject(
        pk,
        by=user,
        reason=d["reason"],
        note=d["note"],
        duplicate_of=duplicate_of,
        expected_version=_version(d),
    )


def _result(d) -> dict:
    return {
        "result": d["result"],
        "mediation_outcome": d.get("mediation_outcome", ""),
        "photos": s.PhotosSerializer.photos_of(d),
        "expected_version": _version(d),
    }


def _handle_in_place(pk, user, d):
    services.handle_in_place(pk, by=user, **_result(d))


def _escalate(pk, user, d):
    services.escalate(pk, by=user, reason=d["reason"], expected_version=_version(d))


def _target(user, target: dict, field: str):
    """A dispatch target named by code. Units must be in the caller's scope; a department's reach is
    checked by the service (a county department serves the townships below it)."""
    if "unit" in target:
        unit = Unit.objects.visible_to(user).current().filter(code=target["unit"]).first()
        if unit is None:
            raise field_error(field, _("No unit with the code %(code)s.") % {"code": target["unit"]})
        return unit
    department = Department.objects.filter(code=target["department"]).first()
    if department is None:
        raise field_error(field, _("No department with the code %(code)s.") % {"code": target["department"]})
    return department


def _dispatch(pk, user, d):
    services.dispatch(
        pk,
        by=user,
        lead=_target(user, d["lead"], "lead"),
        co_handlers=[_target(user, t, "co_handlers") for t in d.get("co_handlers", [])],
        due_at=d.get("due_at"),
        instructions=d["instructions"],
        expected_version=_version(d),
    )


def _accept(pk, user, d):
    services.accept(pk, by=user, note=d["note"], expected_version=_version(d))


def _return(pk, user, d):
    services.return_case(
        pk,
        by=user,
        reason=d["reason"],
        wrongly_dispatched=d["wrongly_dispatched"],
        expected_version=_version(d),
    )


def _report_back(pk, user, d):
    services.report_back(
        pk, by=user, note=d["note"], photos=s.PhotosSerializer.photos_of(d), expected_version=_version(d)
    )


def _submit(pk, user, d):
    services.submit(pk, by=user, **_result(d))


def _check(pk, user, d):
    services.check(
        pk,
        by=user,
        passed=d["passed"],
        note=d["note"],
        photos=s.PhotosSerializer.photos_of(d),
        expected_version=_version(d),
    )


def _rate(pk, user, d):
    services.rate(pk, by=user, rating=d["rating"], comment=d["comment"], expected_version=_version(d))


def _reopen(pk, user, d):
    services.reopen(pk, by=user, note=d["note"], expected_version=_version(d))


def _publish(pk, user, d):
    services.publish(pk, by=user, summary=d["summary"], expected_version=_version(d))


def _hold(pk, user, d):
    services.hold(pk, by=user, reason=d["reason"], expected_version=_version(d))


def _follow_up(pk, user, d):
    services.follow_up(
        pk, by=user, note=d["note"], photos=s.PhotosSerializer.photos_of(d), expected_version=_version(d)
    )


def _resume(pk, user, d):
    services.resume(pk, by=user, note=d["note"], expected_version=_version(d))


def _urge(pk, user, d):
    services.urge(pk, by=user, level=d["level"], note=d["note"], expected_version=_version(d))


def _request_extension(pk, user, d):
    services.request_extension(
        pk, by=user, working_days=d["working_days"], reason=d["reason"], expected_version=_version(d)
    )


def _decide_extension(pk, user, d):
    services.decide_extension(pk, by=user, approve=d["approve"], note=d["note"], expected_version=_version(d))


PHOTOS_HELP = (
    "Photos come as a multipart body: files named `photos`, and optionally `photo_kinds`, `photo_lngs` "
    "and `photo_lats` with one value each per photo, in the same order (an empty longitude and latitude "
    "for a photo without a GPS fix). Images only (JPEG, PNG, WebP), each within the upload size limit."
)


def case_step(name: str, body: type[serializers.Serializer], perform: Callable, summary: str):
    """POST /cases/{id}/{name}/: validate `body`, run the step, answer the case as it now is."""

    def step(self, request, pk=None):
        case_pk = self.visible_case_pk()
        serializer = body(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with case_errors():
            perform(case_pk, request.user, dict(serializer.validated_data))
        return self.detail_response(case_pk)

    description = (body.__doc__ or "").strip()
    if issubclass(body, s.PhotosSerializer):
        description += "\n\n" + PHOTOS_HELP
    step.__name__ = f"step_{name}"
    step = action(detail=True, methods=["post"], url_path=name, url_name=name.replace("_", "-"))(step)
    return extend_schema(summary=summary, description=description, request=body, responses=STEP_RESPONSES)(
        step
    )


# ---------------------------------------------------------------------------------------------------
# Cases


def case_detail_queryset(queryset):
    """Everything the page of a case shows and `allowed_actions` asks, in a fixed number of queries."""
    return queryset.select_related(
        "category__parent",
        "unit__level",
        "owner_unit__level",
        "dispatched_from",
        "reporter",
        "lead_assignment__unit",
        "lead_assignment__department",
    ).prefetch_related(
        Prefetch(
            "assignments",
            queryset=Assignment.objects.select_related("unit", "department", "dispatched_from"),
        ),
        Prefetch(
            "actions",
            queryset=CaseAction.objects.select_related(
                "actor", "actor_unit", "actor_department"
            ).prefetch_related("attachments"),
        ),
        Prefetch("extensions", queryset=ExtensionRequest.objects.select_related("requested_by")),
    )


@extend_schema_view(
    list=extend_schema(
        summary="List cases",
        description=(
            "The cases in the caller's scope: under their territorial posts, assigned to their units "
            "or departments, or reported by them. Newest first; filters as on the desk queue."
        ),
    ),
    retrieve=extend_schema(
        summary="Read one case",
        description=(
            "The case with its assignments, extension requests and timeline (every recorded step with "
            "its photos), what the caller may do next (`allowed_actions`) and the `version` to send "
            "back as `expected_version`."
        ),
        responses=s.CaseDetailSerializer,
    ),
)
@extend_schema(tags=["cases"])
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """事件. A case outside the caller's scope answers 404, exactly like a missing one."""

    authentication_classes = AUTHENTICATION_CLASSES
    queryset = Case.objects.none()  # the model, for the schema; get_queryset() scopes every request
    lookup_value_regex = r"\d+"
    serializer_class = s.CaseSerializer
    pagination_class = BoundedLimitOffsetPagination
    filterset_class = CaseFilter
    parser_classes = PARSERS

    def get_queryset(self):
        queryset = Case.objects.visible_to(self.request.user)
        if self.action == "list":
            return queryset.select_related("category", "unit", "owner_unit")
        return case_detail_queryset(queryset)

    def filter_queryset(self, queryset):
        # Query parameters shape lists; a case in scope is always reachable by its id.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        return s.CaseSerializer if self.action == "list" else s.CaseDetailSerializer

    def visible_case_pk(self) -> int:
        """The case named in the URL, if the caller may see it; the step itself re-reads it under lock."""
        pk = (
            Case.objects.visible_to(self.request.user)
            .filter(pk=self.kwargs["pk"])
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            raise exceptions.NotFound()
        return pk

    def detail_response(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        """The case as the caller now sees it, re-read through their scope."""
        case = case_detail_queryset(Case.objects.visible_to(self.request.user)).filter(pk=pk).first()
        if case is None:
            raise exceptions.NotFound()
        data = s.CaseDetailSerializer(case, context=self.get_serializer_context()).data
        headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
        return Response(data, status=status_code, headers=headers)

    @extend_schema(
        summary="Report a case",
        description=(
            "采集/上报. The place is a GPS point (the smallest grid containing it is found), a unit "
            "code, or both; a point outside every grid is refused unless `attach_to_own_unit`.\n\n"
            + PHOTOS_HELP
            + "\n\n"
            "Idempotent by `uuid`: the first request answers 201, a retry with the same `uuid` answers "
            "200 with the same case and changes nothing."
        ),
        request=s.CaseCreateSerializer,
        responses={
            201: s.CaseDetailSerializer,
            200: OpenApiResponse(s.CaseDetailSerializer, description="A retry: the case already made."),
            400: STEP_RESPONSES[400],
            403: OpenApiResponse(description="The caller's posts do not allow reporting cases."),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = s.CaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user
        unit = None
        if data.get("unit"):
            unit = Unit.objects.visible_to(user).current().filter(code=data["unit"]).first()
            if unit is None:
                raise field_error("unit", _("No unit with the code %(code)s.") % {"code": data["unit"]})
        numbers = set(data.get("households", []))
        households = list(Household.objects.visible_to(user).filter(number__in=numbers))
        missing = numbers - {h.number for h in households}
        if missing:
            raise field_error(
                "households",
                _("No household with the number %(numbers)s in your area.")
                % {"numbers": "、".join(sorted(missing))},
            )
        with case_errors():
            case, created = services.report_case(
                reporter=user,
                source=data["source"],
                description=data["description"],
                title=data.get("title", ""),
                category=data.get("category"),
                severity=data.get("severity"),
                lng=data.get("lng"),
                lat=data.get("lat"),
                address=data.get("address", ""),
                unit=unit,
                attach_to_own_unit=data["attach_to_own_unit"],
                client_uuid=data["uuid"],
                households=households,
                photos=s.PhotosSerializer.photos_of(data),
                register_now=data["register_now"],
                petition_channel=data.get("petition_channel", ""),
            )
        return self.detail_response(case.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    step_verify = case_step("verify", s.VerifySerializer, _verify, "Verify a report on site (核实)")
    step_register = case_step("register", s.RegisterSerializer, _register, "Register a case (立案)")
    step_reject = case_step("reject", s.RejectSerializer, _reject, "Do not register a case (不予立案)")
    step_handle_in_place = case_step(
        "handle_in_place", s.HandleInPlaceSerializer, _handle_in_place, "Handle in the grid and close"
    )
    step_escalate = case_step("escalate", s.EscalateSerializer, _escalate, "Escalate one level up (上报)")
    step_dispatch = case_step("dispatch", s.DispatchSerializer, _dispatch, "Dispatch (派单 / 吹哨)")
    step_accept = case_step("accept", s.AcceptSerializer, _accept, "Accept a dispatch (接单)")
    step_return = case_step("return", s.ReturnSerializer, _return, "Return a dispatch (退回)")
    step_report_back = case_step(
        "report_back", s.ReportBackSerializer, _report_back, "Report back as a co-handler (报到)"
    )
    step_submit = case_step("submit", s.SubmitSerializer, _submit, "Submit the result (办结)")
    step_check = case_step("check", s.CheckSerializer, _check, "Check on site (核查)")
    step_rate = case_step("rate", s.RateSerializer, _rate, "Record the reporter's rating (回访)")
    step_reopen = case_step("reopen", s.ReopenSerializer, _reopen, "Reopen after an unsatisfied rating")
    step_publish = case_step("publish", s.PublishSerializer, _publish, "Publish on the public board")
    step_hold = case_step("hold", s.HoldSerializer, _hold, "Put into long-term management (挂起)")
    step_follow_up = case_step("follow_up", s.FollowUpSerializer, _follow_up, "Add a follow-up note")
    step_resume = case_step("resume", s.ResumeSerializer, _resume, "Take out of long-term management")
    step_urge = case_step("urge", s.UrgeSerializer, _urge, "Urge (督办/催办)")
    step_request_extension = case_step(
        "request_extension", s.RequestExtensionSerializer, _request_extension, "Request an extension"
    )
    step_decide_extension = case_step(
        "decide_extension", s.DecideExtensionSerializer, _decide_extension, "Approve or refuse an extension"
    )


# ---------------------------------------------------------------------------------------------------
# Categories and notifications


class CategoryTreeView(APIView):
    authentication_classes = AUTHENTICATION_CLASSES

    @extend_schema(
        tags=["cases"],
        summary="The case categories in use, as a tree",
        description="Top categories (大类) with their subcategories (小类); cases are reported under a 小类.",
        responses=s.CategoryTreeSerializer(many=True),
    )
    def get(self, request):
        tops = Category.objects.filter(parent__isnull=True, is_active=True).prefetch_related(
            Prefetch("children", queryset=Category.objects.filter(is_active=True), to_attr="active_children")
        )
        tree = [top for top in tops if top.active_children]
        return Response(s.CategoryTreeSerializer(tree, many=True).data)


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(
        field_name="read_at",
        lookup_expr="isnull",
        help_text=gettext_lazy("true: only unread notifications; false: only read ones."),
    )

    class Meta:
        model = Notification
        fields: list[str] = []


@extend_schema(
    tags=["notifications"],
    summary="The caller's notifications",
    description="The caller's own in-app notifications (秒通知), newest first.",
)
class NotificationListView(generics.ListAPIView):
    authentication_classes = AUTHENTICATION_CLASSES
    # The inbox is the caller's own, whatever their posts: a user whose post ended still reads it.
    permission_classes = [IsAuthenticated]
    queryset = Notification.objects.none()  # the model, for the schema
    serializer_class = s.NotificationSerializer
    pagination_class = BoundedLimitOffsetPagination
    filterset_class = NotificationFilter

    def get_queryset(self):
        return Notification.objects.filter(recipient=self.request.user)


class NotificationReadView(APIView):
    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["notifications"],
        summary="Mark notifications read",
        request=s.MarkReadSerializer,
        responses=s.MarkedSerializer,
    )
    def post(self, request):
        serializer = s.MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notices.mark_read(request.user, serializer.validated_data.get("ids"))
        return Response({"marked": marked})


# ---------------------------------------------------------------------------------------------------
# Public: residents without an account


class PublicView(APIView):
    """Rate-limited per client address by the same throttles as the public pages, so a resident has
    one allowance whether they use the page or the API (WANGGE_PUBLIC_REPORT_RATE / _TRACK_RATE)."""

    # No authentication: these endpoints act for nobody, and a signed-in browser is treated like any
    # resident (no CSRF token needed, no staff rights).
    authentication_classes = ()
    permission_classes = [AllowAny]


def tracked_case_or_404(code: str) -> Case:
    """Residents reach exactly one case: the one whose tracking code they hold (spaces and dashes and
    letter case do not matter). No other lookup exists here."""
    case = (
        Case.objects.select_related("category")
        .filter(tracking_code=services.normalise_tracking_code(code))
        .first()
    )
    if case is None:
        raise exceptions.NotFound(_("No case with this tracking code."))
    return case


class PublicReportView(PublicView):
    throttle_classes = [PublicReportThrottle]
    parser_classes = PARSERS

    @extend_schema(
        tags=["public"],
        summary="Report a problem as a resident (群众点单)",
        description=(
            "No account needed; rate-limited per client address. The report goes to the grid "
            "containing the GPS point, or to this unit when there is no point or it lies outside every "
            "grid, and is verified on site before registration. Photos as in the staff report. The "
            "answer is the tracking code only; a retry with the same `uuid` answers 200 with the same "
            "code."
        ),
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="Unit code.")
        ],
        request=s.PublicReportSerializer,
        responses={
            201: s.TrackingCodeSerializer,
            200: OpenApiResponse(s.TrackingCodeSerializer, description="A retry: the report already made."),
            400: STEP_RESPONSES[400],
            404: OpenApiResponse(description="No unit with this code."),
            429: OpenApiResponse(description="Too many reports from this address; try again later."),
        },
    )
    def post(self, request, code):
        unit = Unit.objects.current().filter(code=code).first()
        if unit is None:
            raise exceptions.NotFound(_("No unit with this code."))
        serializer = s.PublicReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with case_errors():
            services.check_point_inside(unit, data.get("lng"), data.get("lat"))
            case, created = services.report_case(
                reporter=None,
                source=Source.RESIDENT,
                description=data["description"],
                title=data.get("title", ""),
                category=data.get("category"),
                lng=data.get("lng"),
                lat=data.get("lat"),
                address=data.get("address", ""),
                unit=unit,
                attach_to_own_unit=True,
                client_uuid=data["uuid"],
                photos=s.PhotosSerializer.photos_of(data),
                reporter_name=data.get("reporter_name", ""),
            )
        if not created and (case.reporter_id is not None or case.source != Source.RESIDENT):
            # A client id is a secret of the report it was made for; never hand out another's code.
            raise field_error("uuid", _("This client id belongs to another user's report."))
        return Response(
            {"tracking_code": case.formatted_tracking_code},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


TRACKING_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The tracking code, e.g. ABCD-EFGH."
)


class PublicTrackingView(PublicView):
    throttle_classes = [PublicTrackThrottle]

    @extend_schema(
        tags=["public"],
        summary="Follow a case by its tracking code",
        description=(
            "No account needed; rate-limited per client address. Answers the case's title, category, "
            "status, a timeline of its public steps (kinds and times only: no names, no notes), the "
            "result once closed, the deadline while open, and whether it may be rated now."
        ),
        parameters=[TRACKING_CODE],
        responses={200: s.PublicTrackingSerializer, 404: OpenApiResponse(description="Unknown code.")},
    )
    def get(self, request, code):
        case = tracked_case_or_404(code)
        return Response(s.PublicTrackingSerializer(s.PublicTrackingSerializer.answer(case)).data)


class PublicRateView(PublicView):
    throttle_classes = [PublicTrackThrottle]

    @extend_schema(
        tags=["public"],
        summary="Rate the result of a closed case by its tracking code",
        description="Once per case. 不满意 (unsatisfied) lets the dispatcher reopen it.",
        parameters=[TRACKING_CODE],
        request=s.PublicRateSerializer,
        responses={
            200: s.PublicTrackingSerializer,
            400: STEP_RESPONSES[400],
            404: OpenApiResponse(description="Unknown code."),
            409: OpenApiResponse(ConflictSerializer, description="The case is not closed yet."),
        },
    )
    def post(self, request, code):
        case = tracked_case_or_404(code)
        serializer = s.PublicRateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with case_errors():
            services.rate(
                case.pk,
                by=None,
                rating=serializer.validated_data["rating"],
                comment=serializer.validated_data["comment"],
            )
        case = tracked_case_or_404(code)
        return Response(s.PublicTrackingSerializer(s.PublicTrackingSerializer.answer(case)).data)
