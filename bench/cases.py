"""Cases at county scale: intake, point-to-grid lookup and the overdue sweep over 1,000,000 cases, each
beside a baseline measured in the same run (issue 3).

The database is the county-scale demo (a year of cases through the loop, ≈100,000) topped up with light
cases to `--cases-total` (default 1,000,000): nine earlier years of cases a grid worker found and
handled in place, plus a few thousand open cases whose deadline passed just before the history's last
step and that no sweep has seen yet. Building it takes a few minutes; on SQLite the result is kept under
var/bench/, keyed on the generators' source and the schema, and copied for each run (the measurements
write to it). With `--database-url` it is built afresh in a scratch database every run.

    python -m bench.cases topup TOTAL              add light cases until there are TOTAL
    python -m bench.cases measure intake|locate|sweep

Both run with Django set up on the bench database (the parent passes the environment) and print one
JSON document on their last line; the parent process formats the tables.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from .measure import Run, last_json, run_measured

TOPUP_VERSION = 3  # bump when the light generator below changes what it writes
REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "var" / "bench"
WANGGE = [sys.executable, "-m", "wangge"]
OVERDUE_REGISTERED = 2_000  # open in a grid's queue: the sweep escalates them
OVERDUE_HANDLING = 1_000  # in a department's hands: the sweep gives a yellow card
INTAKE_CASES = 300
API_CASES = 200
LOCATE_POINTS = 20_000
BRUTE_POINTS = 1_000
LOOP_POINTS = 100

# =====================================================================================================
# The parent side: build or reuse the database, run the measurements, print the tables.


def cache_key(seed: int, total: int) -> str:
    """Changes whenever what the database would hold changes: the demo's generators, the categories,
    the schema (every migration), the light generator's version, the seed and the total."""
    digest = hashlib.sha256(f"{TOPUP_VERSION}|{seed}|{total}".encode())
    src = REPO / "src" / "wangge"
    files = sorted(
        [
            *(src / "demo").glob("*.py"),
            src / "cases" / "data" / "categories.json",
            *src.glob("*/migrations/*.py"),
        ]
    )
    for path in files:
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(env: dict[str, str], seed: int, total: int) -> dict:
    """Migrate, load the county demo with its history, top up; returns what was built and its cost."""
    run_measured([*WANGGE, "migrate", "--no-input", "-v", "0"], env)
    demo = run_measured([*WANGGE, "demo", "--scale", "county", "--seed", str(seed)], env)
    topup = run_measured([sys.executable, "-m", "bench.cases", "topup", str(total)], env)
    return {
        **last_json(topup),
        "demo_seconds": demo.seconds,
        "demo_rss_mb": demo.peak_rss_mb,
        "topup_seconds": topup.seconds,
        "topup_rss_mb": topup.peak_rss_mb,
        "built": time.strftime("%Y-%m-%d %H:%M"),
    }


def database(target, args, child_env) -> tuple[dict[str, str], dict, bool]:
    """(environment for the measuring children, what the database holds, whether it came from the cache)."""
    total = args.cases_total
    if target.engine != "sqlite":
        env = child_env(target.env("cases"))
        return env, build(env, args.seed, total), False
    final = CACHE / f"cases-{cache_key(args.seed, total)}"
    cached = (final / "meta.json").exists()
    if not cached:
        building = CACHE / f"building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        meta = build(child_env({"WANGGE_VAR_DIR": str(building), "DATABASE_URL": ""}), args.seed, total)
        (building / "meta.json").write_text(json.dumps(meta))
        for old in CACHE.glob("cases-*"):  # one cached database at a time: each is a few GB
            shutil.rmtree(old, ignore_errors=True)
        building.rename(final)
    meta = json.loads((final / "meta.json").read_text())
    work = target.root / "cases"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(final / "wangge.sqlite3", work / "wangge.sqlite3")
    return child_env({"WANGGE_VAR_DIR": str(work), "DATABASE_URL": ""}), meta, cached


def measure(env, what: str) -> tuple[dict, Run]:
    run = run_measured([sys.executable, "-m", "bench.cases", "measure", what], env)
    return last_json(run), run


def report(target, args, *, table, child_env) -> None:
    print(f"\n3. Cases over {args.cases_total:,} existing ones (county demo + light history)", flush=True)
    env, meta, cached = database(target, args, child_env)
    how = (
        f"cached, built {meta['built']}"
        if cached
        else f"built now: demo {meta['demo_seconds']:.0f} s (peak RSS {meta['demo_rss_mb']:.0f} MB), "
        f"top-up {meta['topup_seconds']:.0f} s (peak RSS {meta['topup_rss_mb']:.0f} MB)"
    )
    print(
        f"   {meta['total']:,} cases: {meta['demo_cases']:,} from the demo's year, {meta['added']:,} light "
        f"({meta['overdue']:,} overdue, not yet swept); {meta['actions']:,} actions · {how}"
    )
    print(f"   the history's last step (the sweep runs a second after it): {meta['today']}", flush=True)

    figures, run = measure(env, "intake")
    print(
        f"\n3a. Intake (median of per-case times; peak RSS of the measuring process {run.peak_rss_mb:.0f} MB)"
    )
    bare = figures["bare_per_case"]
    rows = []
    for name, key in (
        ("services.report_case (register_now)", "service"),
        ("POST /api/v1/cases/ (token, JSON)", "api"),
        ("baseline: bare INSERTs, one transaction per case", "bare_per_case"),
        ("baseline: bare INSERTs, batched", "bare_batched"),
    ):
        f = figures.get(key)
        if f is None:
            rows.append([name, "—", "—", "—", "—", "not available"])
            continue
        rows.append(
            [
                name,
                f"{f['cases']:,}",
                f"{f['median_ms']:.2f}",
                f"{f['cases_per_s']:,.0f}",
                f"{f['rows_per_s']:,.0f}",
                f"{bare['cases_per_s'] / f['cases_per_s']:.1f}×" if f["cases_per_s"] else "—",
            ]
        )
    print(
        table(["run", "cases", "ms/case", "cases/s", "rows/s", "time vs bare"], rows, right={1, 2, 3, 4, 5})
    )
    if figures.get("api_error"):
        print(f"   API: {figures['api_error']}")
    print(
        f"   rows per case: {figures['service']['rows_per_case']:.1f} inserted through the services (the case, "
        "its report and register actions; the day's serial is updated too), 3 in the baselines"
    )

    figures, run = measure(env, "locate")
    print(
        f"\n3b. Point → grid ({figures['points']:,} points, {figures['units']:,} units with a boundary, "
        f"{figures['grids']:,} grids; peak RSS {run.peak_rss_mb:.0f} MB)"
    )
    brute = figures["brute"]
    rows = []
    for name, key in (
        ("locator().locate_id, one point at a time", "locate_id"),
        ("locator().locate_many, all points at once", "locate_many"),
        ("baseline: brute force, every grid tested per point (vectorised)", "brute"),
        ("baseline: brute force, Python loop over the grids", "loop"),
    ):
        f = figures[key]
        rows.append(
            [
                name,
                f"{f['points']:,}",
                f"{f['us_per_point']:,.1f}",
                f"{f['points_per_s']:,.0f}",
                f"{brute['us_per_point'] / f['us_per_point']:,.1f}×",
            ]
        )
    print(table(["run", "points", "µs/point", "points/s", "faster than brute"], rows, right={1, 2, 3, 4}))
    print(
        f"   building the locator (STRtree of every boundary): {figures['build_ms']:.0f} ms; "
        f"answers differing from the brute force: {figures['mismatches']}"
    )

    figures, run = measure(env, "sweep")
    print(
        f"\n3c. Overdue sweep over {figures['cases']:,} cases, {figures['candidates']:,} overdue "
        f"(peak RSS {run.peak_rss_mb:.0f} MB)"
    )
    scan = figures["scan_ms"]
    rows = [
        [
            "sweeps.sweep_overdue, first run",
            f"{figures['first']['handled']:,}",
            f"{figures['first']['ms']:,.0f}",
            f"{figures['first']['handled'] / figures['first']['ms'] * 1000:,.0f}",
            f"{figures['first']['ms'] / scan:,.0f}×",
        ],
        [
            "sweeps.sweep_overdue, run again",
            "0",
            f"{figures['again_ms']:,.1f}",
            "—",
            f"{figures['again_ms'] / scan:,.1f}×",
        ],
        [
            "baseline: indexed scan of the candidates",
            f"{figures['candidates']:,}",
            f"{scan:,.1f}",
            "—",
            "1.0×",
        ],
    ]
    print(table(["run", "cases", "ms", "cases/s", "time vs scan"], rows, right={1, 2, 3, 4}))
    print(
        f"   first run: {figures['first']['escalated']:,} escalated, {figures['first']['urged']:,} urged, "
        f"{figures['first']['notifications']:,} notifications"
    )
    if args.plans:
        print(f"\n   plan of the scan: {figures['plan']}")


# =====================================================================================================
# The children: Django is set up on the bench database.


def setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    django.setup()


def topup(total: int) -> None:
    """Add light cases until there are `total`: nine earlier years of finds handled in the grid (a few
    not registered), then the open overdue cases the sweep bench needs. Streams in batches."""
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import translation

    from wangge.cases.choices import OPEN_STATES
    from wangge.cases.models import Case, CaseAction, CaseSerial
    from wangge.demo import cases as demo
    from wangge.demo.generator import analyze

    with translation.override("zh-hans"), transaction.atomic():
        demo.large_cache()
        world = demo.World()
        existing = Case.objects.count()
        random_ = random.Random(f"topup:{existing}")  # a second top-up draws other ids
        today = CaseAction.objects.aggregate(last=Max("time"))["last"]
        light = LightCases(world, random_, today)
        extra = max(0, total - existing)
        overdue = min(extra, OVERDUE_REGISTERED + OVERDUE_HANDLING)
        codes = set(Case.objects.values_list("tracking_code", flat=True))
        serials = {(p, d): n for p, d, n in CaseSerial.objects.values_list("prefix", "day", "last")}
        light.codes, light.serials = codes, serials
        case_id, action_id = demo.next_id(Case), demo.next_id(CaseAction)
        batches = light.history(extra - overdue), light.overdue(overdue)
        for stream in batches:
            for chunk in demo.batched(stream, 20_000):
                cases, actions, assignments = [], [], []
                for row, steps, lead in chunk:
                    row["id"] = case_id
                    for step in steps:
                        actions.append((action_id, case_id, *step))
                        action_id += 1
                    if lead is not None:
                        lead = (light.assignment_id, case_id, *lead)
                        row["lead_assignment_id"] = light.assignment_id
                        assignments.append(lead)
                        light.assignment_id += 1
                    cases.append(tuple(row.get(column) for column in demo.CASE_COLUMNS))
                    case_id += 1
                demo.insert_rows(Case, demo.CASE_COLUMNS, cases)
                demo.insert_rows(light.Assignment, demo.ASSIGNMENT_COLUMNS, assignments)
                demo.insert_rows(CaseAction, demo.ACTION_COLUMNS, actions)
        CaseSerial.objects.all().delete()
        CaseSerial.objects.bulk_create(
            CaseSerial(prefix=p, day=d, last=n) for (p, d), n in sorted(light.serials.items())
        )
        demo.reset_sequences(Case, CaseAction, light.Assignment, CaseSerial)
        analyze(Case, CaseAction, light.Assignment, CaseSerial)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(
        json.dumps(
            {
                "demo_cases": existing,
                "added": extra,
                "overdue": Case.objects.filter(
                    state__in=OPEN_STATES, stage_due_at__lt=today, overdue_at__isnull=True
                ).count(),
                "total": Case.objects.count(),
                "actions": CaseAction.objects.count(),
                "today": today.isoformat(),
            }
        )
    )


def _has_desks(world, leaf) -> bool:
    """Whether someone is posted today at the leaf and at every unit above it up to its township: a light
    case is found at its leaf and may climb to the township."""
    unit = leaf
    while unit is not None:
        try:
            world.desk(unit.id)
        except LookupError:
            return False
        if unit.id == leaf.township_id:
            return True
        unit = world.units.get(unit.parent_id)
    return True


class LightCases:
    """Cases with the fields and action rows the services would give them, without their stories."""

    RESULTS = ("已现场处置完毕，群众无异议。", "已督促整改到位。", "经调解双方达成一致。", "已协调清理完毕。")

    def __init__(self, world, rnd: random.Random, today):
        from wangge.cases.models import Assignment

        self.Assignment = Assignment
        self.world, self.rnd, self.today = world, rnd, today
        self.assignment_id = (
            Assignment.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ) + 1
        self.grid_categories = [c for c in world.categories if c.default_level in ("grid", "village")]
        self.department_categories = [
            c for c in world.categories if c.default_department and c.id in world.calm
        ]
        # A grid whose worker (or whose grid's leader) the annual appraisal dismissed has nobody posted
        # today to act on a case: no light cases there.
        self.leaves = [
            leaf for leaf in world.leaves if world.households.get(leaf.id) and _has_desks(world, leaf)
        ]
        self.cumulative = list(itertools.accumulate(len(world.households[leaf.id]) for leaf in self.leaves))

    def tracking_code(self) -> str:
        from wangge.cases.services import TRACKING_ALPHABET

        while True:
            code = "".join(self.rnd.choices(TRACKING_ALPHABET, k=8))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def number(self, leaf, when) -> str:
        from django.utils import timezone

        prefix, day = leaf.code[:6], timezone.localdate(when)
        serial = self.serials.get((prefix, day), 0) + 1
        self.serials[prefix, day] = serial
        return f"{prefix}{day:%Y%m%d}{serial:05d}"

    def base(self, leaf, category, when, household) -> dict:
        rnd = self.rnd
        return {
            "created_at": when,
            "updated_at": when,
            "uuid": uuid.UUID(int=rnd.getrandbits(128), version=4),
            "tracking_code": self.tracking_code(),
            "title": category.name,
            "description": f"{household.address}发现{category.name}问题，网格员现场处置。",
            "category_id": category.id,
            "severity": category.severity,
            "unit_id": leaf.id,
            "owner_unit_id": leaf.id,
            "lng": household.lng,
            "lat": household.lat,
            "address": household.address,
            "reporter_name": "",
            "reject_reason": "",
            "held_from_state": "",
            "resolved_level": "",
            "resolved_in_place": False,
            "mediation_outcome": "",
            "petition_channel": "",
            "result": "",
            "urge_level": "",
            "rating": "",
            "rating_comment": "",
            "public_summary": "",
            **dict.fromkeys(
                (
                    "escalation_count",
                    "dispatch_count",
                    "return_count",
                    "wrong_dispatch_count",
                    "rework_count",
                    "reopen_count",
                    "extension_count",
                ),
                0,
            ),
        }

    def step(self, kind, when, by, before, after, note="", data=None, label=""):
        post = self.world.post_of.get(by) if by else None
        return (
            kind,
            when,
            by,
            label,
            post.role if post else "",
            post.unit_id if post else None,
            post.department_id if post else None,
            before,
            after,
            note,
            data or {},
            "",
        )

    def pick(self):
        leaf = self.rnd.choices(self.leaves, cum_weights=self.cumulative)[0]
        return leaf, self.rnd.choice(self.world.households[leaf.id])

    def history(self, count: int):
        """Finds registered at once and handled in place over the nine years before the demo's year."""
        from wangge.cases.choices import (
            ActionKind,
            CaseState,
            HandlerLevel,
            PetitionChannel,
            RejectReason,
            Source,
            Stage,
            StatisticsGroup,
        )
        from wangge.demo.cases import mediation_outcome_of

        rnd, world = self.rnd, self.world
        end = self.today - timedelta(days=366)
        span = timedelta(days=9 * 365).total_seconds()
        step = span / max(count, 1)
        start = end - timedelta(seconds=span)
        for index in range(count):
            leaf, household = self.pick()
            category = rnd.choice(self.grid_categories)
            # In time order, as they came: the time-ordered indexes then grow at their end.
            when = start + timedelta(seconds=(index + rnd.random()) * step)
            worker = world.desk(leaf.id)
            row = self.base(leaf, category, when, household)
            if rnd.random() < 0.04:  # a resident's report found not to be a case
                done = when + timedelta(hours=rnd.uniform(1, 20))
                row.update(
                    source=Source.RESIDENT,
                    state=CaseState.REJECTED,
                    reporter_name="张先生",
                    reject_reason=RejectReason.NOT_A_CASE,
                    closed_at=done,
                    stage=Stage.DISPATCH,
                    version=3,
                    updated_at=done,
                )
                steps = [
                    self.step(
                        ActionKind.REPORT,
                        when,
                        None,
                        "",
                        "reported",
                        data={"source": "resident"},
                        label="张先生",
                    ),
                    self.step(
                        ActionKind.VERIFY,
                        done - timedelta(minutes=30),
                        worker,
                        "reported",
                        "verified",
                        "已到现场核实",
                    ),
                    self.step(
                        ActionKind.REJECT,
                        done,
                        worker,
                        "verified",
                        "rejected",
                        "不属于事件",
                        {"reason": "not_a_case", "duplicate_of": None},
                    ),
                ]
                yield row, steps, None
                continue
            number = self.number(leaf, when)
            due = world.stage_deadline(category, Stage.HANDLING, leaf.level, when)
            done = when + (due - when) * rnd.uniform(0.05, 0.9) if due else when + timedelta(hours=5)
            result = rnd.choice(self.RESULTS)
            row.update(
                source=Source.PATROL,
                state=CaseState.CLOSED,
                number=number,
                reporter_id=worker,
                registered_at=when,
                closed_at=done,
                stage=Stage.HANDLING,
                due_at=due,
                kpi_due_at=due,
                resolved_level=HandlerLevel.GRID,
                resolved_in_place=True,
                result=result,
                version=3,
                updated_at=done,
            )
            # A dispute records its mediation's outcome, a petition the channel (a worker's find: in person).
            outcome = mediation_outcome_of(category, rnd.random())
            channel = PetitionChannel.VISIT if category.group == StatisticsGroup.PETITION else ""
            row.update(mediation_outcome=outcome, petition_channel=channel)
            steps = [
                self.step(ActionKind.REPORT, when, worker, "", "reported", data={"source": "patrol"}),
                self.step(
                    ActionKind.REGISTER,
                    when,
                    worker,
                    "reported",
                    "registered",
                    data={"number": number, "category": category.code}
                    | ({"petition_channel": channel} if channel else {}),
                ),
                self.step(
                    ActionKind.HANDLE_IN_PLACE,
                    done,
                    worker,
                    "registered",
                    "closed",
                    result,
                    {"mediation_outcome": outcome} if outcome else None,
                ),
            ]
            yield row, steps, None

    def overdue(self, count: int):
        """Open cases whose stage deadline passed shortly before the history's last step, not yet swept:
        most in a grid's queue (the sweep escalates them), some in a department's hands (yellow card)."""
        from wangge.cases.choices import ActionKind, CaseState, HandlerLevel, Source, Stage
        from wangge.workdays.calendar import add_working_duration

        rnd, world = self.rnd, self.world
        in_queue = round(count * OVERDUE_REGISTERED / (OVERDUE_REGISTERED + OVERDUE_HANDLING))
        for index in range(count):
            leaf, household = self.pick()
            if index < in_queue:
                category = rnd.choice(self.grid_categories)
                level, stage = leaf.level, Stage.HANDLING
            else:
                category = rnd.choice(self.department_categories)
                level, stage = HandlerLevel.DEPARTMENT, Stage.HANDLING
            # Registered long enough ago that the deadline has just passed.
            when, due = None, None
            for days in (3.2, 4.2, 5.2, 6.2, 7.5, 9):
                when = add_working_duration(self.today, -days)
                due = world.stage_deadline(category, stage, level, when)
                if due is not None and due < self.today - timedelta(minutes=20):
                    break
            worker = world.desk(leaf.id)
            number = self.number(leaf, when)
            row = self.base(leaf, category, when, household)
            row.update(
                source=Source.PATROL,
                state=CaseState.REGISTERED,
                number=number,
                reporter_id=worker,
                registered_at=when,
                stage=stage,
                stage_due_at=due,
                due_at=due,
                kpi_due_at=due,
                version=2,
            )
            steps = [
                self.step(ActionKind.REPORT, when, worker, "", "reported", data={"source": "patrol"}),
                self.step(
                    ActionKind.REGISTER,
                    when,
                    worker,
                    "reported",
                    "registered",
                    data={"number": number, "category": category.code},
                ),
            ]
            lead = None
            if index >= in_queue:
                lead = self.dispatched(row, steps, leaf, category, when)
            yield row, steps, lead

    def dispatched(self, row, steps, leaf, category, when):
        """Escalated to the township at once and dispatched to the category's department, which accepted:
        the row and steps become those of a case in the department's hands. None if it has no department."""
        from wangge.cases.choices import ActionKind, AssignmentStatus, CaseState, HandlerLevel, Stage

        world = self.world
        dept = next((d for d in world.departments.values() if d.name == category.default_department), None)
        township = world.units[leaf.township_id]
        t, owner, climb = when, leaf, []
        while owner.id != township.id:
            t += timedelta(minutes=15)
            parent = world.units[owner.parent_id]
            data = {"from_unit": owner.code, "to_unit": parent.code, "automatic": False}
            note = "需相关职能部门依法处置，提请派单。"
            climb.append(
                self.step(
                    ActionKind.ESCALATE, t, world.desk(owner.id), "registered", "registered", note, data
                )
            )
            owner = parent
        t += timedelta(minutes=30)
        due = world.stage_deadline(category, Stage.HANDLING, HandlerLevel.DEPARTMENT, t)
        if dept is None or due is None or due >= self.today - timedelta(minutes=20):
            return None
        handler, ta = world.department_user(dept.id), world.desk(township.id)
        instructions = "请按职责及时核查处置。"
        data = {"lead": dept.name, "co_handlers": [], "due_at": due.isoformat()}
        steps += climb
        steps.append(self.step(ActionKind.DISPATCH, t, ta, "registered", "dispatched", instructions, data))
        accepted = t + timedelta(hours=1)
        steps.append(self.step(ActionKind.ACCEPT, accepted, handler, "dispatched", "handling"))
        row.update(
            state=CaseState.HANDLING,
            owner_unit_id=township.id,
            dispatched_from_id=township.id,
            escalation_count=len(climb),
            dispatch_count=1,
            stage_due_at=due,
            due_at=due,
            kpi_due_at=due,
            version=len(steps),
            updated_at=accepted,
        )
        status = AssignmentStatus.ACCEPTED
        return (None, dept.id, True, status, township.id, ta, t, due, instructions, accepted, None, "")


def measure_intake() -> dict:
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from wangge.cases import services
    from wangge.cases.choices import Source
    from wangge.cases.models import Case, CaseAction, Category
    from wangge.ledger.models import Household
    from wangge.people.models import User

    worker = User.objects.get(username="demo-gridworker")
    grid = worker.primary_unit()
    points = list(Household.objects.filter(grid=grid).values_list("lng", "lat"))
    category = Category.objects.filter(parent__isnull=False, default_level="grid").order_by("code").first()
    description = "巡查发现楼道内堆放杂物，堵塞消防通道，已要求住户清理。"
    figures = {}

    def rows_now():
        return Case.objects.count() + CaseAction.objects.count()

    # Through the service layer, one transaction per report, as a request makes it.
    before, times = rows_now(), []
    for i in range(INTAKE_CASES):
        lng, lat = points[i % len(points)]
        started = time.perf_counter()
        services.report_case(
            reporter=worker,
            source=Source.PATROL,
            description=description,
            category=category,
            lng=lng,
            lat=lat,
            client_uuid=uuid.uuid4(),
            register_now=True,
        )
        times.append(time.perf_counter() - started)
    figures["service"] = summary(times, rows_now() - before)

    # Through the HTTP API, with the grid worker's token.
    token, _created = Token.objects.get_or_create(user=worker)
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    before, times = rows_now(), []
    for i in range(API_CASES):
        lng, lat = points[i % len(points)]
        payload = {
            "uuid": str(uuid.uuid4()),
            "source": "patrol",
            "description": description,
            "category": category.code,
            "lng": lng,
            "lat": lat,
            "register_now": True,
        }
        started = time.perf_counter()
        response = client.post("/api/v1/cases/", payload, format="json")
        times.append(time.perf_counter() - started)
        if response.status_code != 201:
            figures["api_error"] = f"{response.status_code}: {response.content[:300]!r}"
            break
    else:
        figures["api"] = summary(times, rows_now() - before)

    # Baselines: the same rows (a case and its two actions) as bare INSERTs, no ORM and no rules.
    template = Case.objects.filter(unit=grid, source=Source.PATROL).order_by("-id").first()
    ops = connection.ops
    case_columns = [
        "created_at", "updated_at", "uuid", "number", "tracking_code", "title", "description",
        "category_id", "severity", "source", "state", "unit_id", "owner_unit_id", "lng", "lat", "address",
        "reporter_id", "reporter_name", "registered_at", "reject_reason", "stage", "stage_due_at", "due_at",
        "kpi_due_at", "held_from_state", "resolved_level", "resolved_in_place", "result",
        "escalation_count", "dispatch_count", "return_count", "wrong_dispatch_count", "rework_count",
        "reopen_count", "extension_count", "urge_level", "rating", "rating_comment", "public_summary",
        "version",
    ]  # fmt: skip
    action_columns = [
        "case_id", "kind", "time", "actor_id", "actor_label", "actor_role", "actor_unit_id",
        "actor_department_id", "from_state", "to_state", "note", "data", "request_id",
    ]  # fmt: skip

    def insert_sql(model, columns):
        return "INSERT INTO {} ({}) VALUES ({})".format(
            ops.quote_name(model._meta.db_table),
            ", ".join(ops.quote_name(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )

    case_sql, action_sql = insert_sql(Case, case_columns), insert_sql(CaseAction, action_columns)

    def case_values(i):
        now = ops.adapt_datetimefield_value(template.created_at)
        values = {c: getattr(template, c) for c in case_columns}
        values.update(
            created_at=now,
            updated_at=now,
            uuid=uuid.uuid4().hex if connection.vendor == "sqlite" else uuid.uuid4(),
            number=f"B{os.getpid() % 100000:05d}{i:010d}",
            tracking_code=f"~{i:07d}",
            registered_at=now,
            stage_due_at=ops.adapt_datetimefield_value(template.stage_due_at),
            due_at=ops.adapt_datetimefield_value(template.due_at),
            kpi_due_at=ops.adapt_datetimefield_value(template.kpi_due_at),
        )
        return [values[c] for c in case_columns]

    def action_values(case_id, kind, now):
        return [
            case_id,
            kind,
            now,
            worker.pk,
            "",
            "grid_worker_full_time",
            grid.pk,
            None,
            "",
            "registered",
            "",
            "{}",
            "",
        ]

    times = []
    with connection.cursor() as cursor:
        for i in range(INTAKE_CASES):
            started = time.perf_counter()
            with transaction.atomic():
                row = case_values(i)
                cursor.execute(case_sql + " RETURNING id", row)
                case_id = cursor.fetchone()[0]
                cursor.execute(action_sql, action_values(case_id, "report", row[0]))
                cursor.execute(action_sql, action_values(case_id, "register", row[0]))
            times.append(time.perf_counter() - started)
    figures["bare_per_case"] = summary(times, 3 * INTAKE_CASES)

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        rows = [case_values(INTAKE_CASES + i) for i in range(INTAKE_CASES)]
        cursor.executemany(case_sql, rows)
        cursor.execute(
            f"SELECT id FROM {ops.quote_name(Case._meta.db_table)} WHERE number >= %s ORDER BY number",
            [rows[0][3]],
        )
        ids = [r[0] for r in cursor.fetchall()][:INTAKE_CASES]
        cursor.executemany(
            action_sql,
            [action_values(pk, kind, rows[0][0]) for pk in ids for kind in ("report", "register")],
        )
    elapsed = time.perf_counter() - started
    figures["bare_batched"] = {
        "cases": INTAKE_CASES,
        "median_ms": elapsed / INTAKE_CASES * 1000,
        "cases_per_s": INTAKE_CASES / elapsed,
        "rows_per_s": 3 * INTAKE_CASES / elapsed,
        "rows_per_case": 3.0,
    }
    return figures


def summary(times: list[float], rows: int) -> dict:
    total = sum(times)
    return {
        "cases": len(times),
        "median_ms": statistics.median(times) * 1000,
        "cases_per_s": len(times) / total,
        "rows_per_s": rows / total,
        "rows_per_case": rows / len(times),
    }


def measure_locate() -> dict:
    import numpy as np
    import shapely

    from wangge.ledger.models import Household
    from wangge.units.geometry import to_shape
    from wangge.units.locate import UnitLocator
    from wangge.units.models import Unit

    rnd = random.Random(11)
    households = list(Household.objects.values_list("lng", "lat"))
    points = rnd.sample(households, LOCATE_POINTS - LOCATE_POINTS // 50)
    county = to_shape(Unit.objects.get(depth=1).geometry)
    minx, miny, maxx, maxy = county.bounds
    points += [(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)) for _ in range(LOCATE_POINTS // 50)]
    rnd.shuffle(points)

    started = time.perf_counter()
    locator = UnitLocator.build()
    build_ms = (time.perf_counter() - started) * 1000

    def per_point(function, sample):
        times = []
        for lng, lat in sample:
            t = time.perf_counter()
            function(lng, lat)
            times.append(time.perf_counter() - t)
        return figures_of(len(sample), sum(times), statistics.median(times))

    figures = {"points": len(points), "build_ms": build_ms}
    figures["locate_id"] = per_point(locator.locate_id, points)
    started = time.perf_counter()
    many = locator.locate_many(points)
    elapsed = time.perf_counter() - started
    figures["locate_many"] = figures_of(len(points), elapsed, elapsed / len(points))

    units = list(
        Unit.objects.current().exclude(geometry__isnull=True).values_list("id", "depth", "kind", "geometry")
    )
    figures["units"] = len(units)
    grids = [(pk, depth, to_shape(geometry)) for pk, depth, kind, geometry in units if kind != "division"]
    figures["grids"] = len(grids)
    ids = np.array([g[0] for g in grids])
    depths = np.array([g[1] for g in grids])
    shapes = np.array([g[2] for g in grids], dtype=object)
    shapely.prepare(shapes)  # the strongest brute force: every boundary prepared once

    def brute(lng, lat):
        inside = np.flatnonzero(shapely.contains_xy(shapes, lng, lat))
        return int(ids[inside[np.argmax(depths[inside])]]) if len(inside) else None

    def loop(lng, lat):
        point = shapely.Point(lng, lat)
        inside = [(depth, pk) for pk, depth, shape in grids if shape.contains(point)]
        return max(inside)[1] if inside else None

    sample = points[:BRUTE_POINTS]
    figures["brute"] = per_point(brute, sample)
    figures["loop"] = per_point(loop, points[:LOOP_POINTS])
    grid_ids = set(ids.tolist())
    figures["mismatches"] = sum(
        1
        for (lng, lat), found in zip(sample, many, strict=False)
        if (found if found in grid_ids else None) != brute(lng, lat)
    )
    return figures


def figures_of(points: int, seconds: float, median_seconds: float) -> dict:
    return {
        "points": points,
        "us_per_point": median_seconds * 1e6,
        "points_per_s": points / seconds,
    }


def measure_sweep() -> dict:
    from django.db.models import Max

    from wangge.cases import sweeps
    from wangge.cases.choices import OPEN_STATES
    from wangge.cases.models import Case, CaseAction
    from wangge.notices.models import Notification

    today = CaseAction.objects.aggregate(last=Max("time"))["last"]
    now = today + timedelta(seconds=1)
    candidates = Case.objects.filter(state__in=OPEN_STATES, stage_due_at__lt=now, overdue_at__isnull=True)

    def scan():
        return list(candidates.order_by("stage_due_at", "pk").values_list("pk", "version", "state"))

    scan()
    samples = []
    for _repeat in range(15):
        started = time.perf_counter()
        found = scan()
        samples.append(time.perf_counter() - started)
    figures = {
        "cases": Case.objects.count(),
        "candidates": len(found),
        "scan_ms": statistics.median(samples) * 1000,
        "plan": candidates.order_by("stage_due_at", "pk").values("pk", "version", "state").explain(),
    }
    notes_before = Notification.objects.count()
    started = time.perf_counter()
    result = sweeps.sweep_overdue(now=now)
    elapsed = time.perf_counter() - started
    handled = len(result.escalated) + len(result.urged)
    figures["first"] = {
        "handled": handled,
        "escalated": len(result.escalated),
        "urged": len(result.urged),
        "ms": elapsed * 1000,
        "notifications": Notification.objects.count() - notes_before,
    }
    samples = []
    for _repeat in range(5):
        started = time.perf_counter()
        again = sweeps.sweep_overdue(now=now)
        samples.append(time.perf_counter() - started)
        assert not again.escalated and not again.urged, "a second sweep acted again"
    figures["again_ms"] = statistics.median(samples) * 1000
    return figures


def main(argv: list[str]) -> None:
    setup()
    if argv[0] == "topup":
        topup(int(argv[1]))
    elif argv[0] == "measure":
        what = {"intake": measure_intake, "locate": measure_locate, "sweep": measure_sweep}[argv[1]]
        print(json.dumps(what(), default=str))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
