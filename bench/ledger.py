"""Ledgers at county scale (issue 4): importing 100,000 households and 300,000 residents from .xlsx and
from .csv, and the dossier (一格一档) of a village and of a township, each beside a baseline measured in
the same run.

The database is the county-scale demo with its ledgers (≈155,000 households, ≈520,000 residents), built
once per run; every import goes into its own copy of it (a file copy on SQLite, `CREATE DATABASE …
TEMPLATE` on PostgreSQL), so each starts from the same county. The files are written by the demo's own
people generator (`wangge.demo.ledger.People`): new households in the demo's grids, whose members' ID
numbers are valid, unique and clear of the half million already registered.

    python -m bench.ledger files DIR HOUSEHOLDS RESIDENTS   the import files (and the rows, for the baseline)
    python -m bench.ledger import KIND FMT STEP DIR      STEP: check (the dry run) or apply (valid rows only)
    python -m bench.ledger bare DIR                      the baseline: the same rows as bare INSERTs
    python -m bench.ledger dossier REPEAT                the dossier timings

Each runs with Django set up on a bench database (the parent passes the environment) and prints one
JSON document on its last line; the parent process formats the tables.
"""

from __future__ import annotations

import base64
import csv
import datetime
import json
import os
import pickle
import random
import secrets
import shutil
import sys
import time
from pathlib import Path

from .measure import Run, last_json, median_ms, run_measured

WANGGE = [sys.executable, "-m", "wangge"]
# Households and residents in the import files, by the scale of the demo they go into (--ledger-scale).
FILE_ROWS = {"county": (100_000, 300_000), "small": (10_000, 30_000)}
SEED = 11
KINDS = ("households", "residents")
FORMATS = ("csv", "xlsx")
# Care tags the import files carry (special-population tags need their records and are not imported).
FILE_TAGS = {"dibao": 0.03, "disabled": 0.05, "veteran": 0.01}

# =====================================================================================================
# The parent side: build the county, copy it for each import, run the children, print the tables.


def pii_env() -> dict[str, str]:
    """One pair of personal-data keys for every database of the run, so copies decrypt alike."""
    return {
        "WANGGE_PII_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "WANGGE_PII_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


class Databases:
    """The county database and its copies, on the bench's target."""

    def __init__(self, target, child_env, keys: dict[str, str]):
        self.target, self.child_env, self.keys = target, child_env, keys

    def base(self) -> dict[str, str]:
        self.base_env = self.child_env({**self.target.env("ledger"), **self.keys})
        return self.base_env

    def copy(self, name: str) -> dict[str, str]:
        target = self.target
        if target.engine == "sqlite":
            source = Path(self.base_env["WANGGE_VAR_DIR"])
            folder = target.root / name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / "wangge.sqlite3", folder / "wangge.sqlite3")
            return self.child_env({"WANGGE_VAR_DIR": str(folder), "DATABASE_URL": "", **self.keys})
        from urllib.parse import urlsplit, urlunsplit

        base_name = urlsplit(self.base_env["DATABASE_URL"]).path.lstrip("/")
        database = f"wangge_bench_{os.getpid()}_{name}"
        with target.psycopg.connect(target.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}" TEMPLATE "{base_name}"')
        target.created.append(database)
        url = urlunsplit(urlsplit(target.url)._replace(path=f"/{database}"))
        return self.child_env({"WANGGE_VAR_DIR": str(target.root / name), "DATABASE_URL": url, **self.keys})


def child(args: list[str], env: dict[str, str]) -> tuple[dict, Run]:
    run = run_measured([sys.executable, "-m", "bench.ledger", *args], env)
    return last_json(run), run


def report(target, args, *, table, child_env) -> None:
    scale = args.ledger_scale
    print(f"\n4. Ledgers (the {scale}-scale demo with its ledgers)", flush=True)
    databases = Databases(target, child_env, pii_env())
    env = databases.base()
    run_measured([*WANGGE, "migrate", "--no-input", "-v", "0"], env)
    demo = run_measured([*WANGGE, "demo", "--scale", scale, "--seed", str(args.seed)], env)
    print(f"   built in {demo.seconds:.0f} s (peak RSS {demo.peak_rss_mb:.0f} MB)")
    for line in demo.output.splitlines():
        if line.startswith(("Built", "Ledgers")):
            print(f"   demo says: {line}")

    folder = target.root / "ledger-files"
    folder.mkdir(parents=True, exist_ok=True)
    households, residents = FILE_ROWS[scale]
    files, run = child(["files", str(folder), str(households), str(residents)], env)
    print(
        f"   import files: {files['households']:,} households and {files['residents']:,} residents "
        f"in {files['grids']:,} grids, written in {run.seconds:.0f} s "
        f"({', '.join(f'{name} {size / 1e6:.1f} MB' for name, size in files['sizes'].items())})",
        flush=True,
    )
    report_import(databases, folder, files, table)
    report_dossier(env, args.repeat, table)


def report_import(databases: Databases, folder: Path, files: dict, table) -> None:
    rows_total = files["households"] + files["residents"]
    bare, bare_run = child(["bare", str(folder)], databases.copy("ledger-bare"))
    results = {}
    for fmt in FORMATS:
        env = databases.copy(f"ledger-{fmt}")
        steps = {}
        for kind in KINDS:
            for step in ("check", "apply"):
                figures, run = child(["import", kind, fmt, step, str(folder)], env)
                steps[kind, step] = (figures, run)
        results[fmt] = steps
    print(
        f"\n4a. Import of {files['households']:,} households and {files['residents']:,} residents "
        "(imports.check, then imports.apply valid rows only; each step in its own process)"
    )
    rows = []
    for fmt, steps in results.items():
        for kind in KINDS:
            for step in ("check", "apply"):
                figures, run = steps[kind, step]
                rows.append(
                    [
                        f"{fmt} · {kind} · {'dry run' if step == 'check' else 'import'}",
                        f"{figures['rows']:,}",
                        f"{figures['seconds']:.1f} s",
                        f"{figures['rows'] / figures['seconds']:,.0f}",
                        f"{run.peak_rss_mb:.0f} MB",
                        outcome(figures),
                    ]
                )
        seconds = sum(f["seconds"] for f, _run in steps.values())
        rows.append(
            [
                f"{fmt} · all four steps",
                f"{rows_total:,}",
                f"{seconds:.1f} s",
                f"{rows_total / seconds:,.0f}",
                f"{max(run.peak_rss_mb for _f, run in steps.values()):.0f} MB",
                f"{seconds / bare['seconds']:.1f}× the bare insert",
            ]
        )
    rows.append(
        [
            "baseline: bare INSERTs, households then residents",
            f"{bare['rows']:,}",
            f"{bare['seconds']:.1f} s",
            f"{bare['rows'] / bare['seconds']:,.0f}",
            f"{bare_run.peak_rss_mb:.0f} MB",
            f"values encrypted beforehand ({bare['prepare_seconds']:.0f} s, not counted)",
        ]
    )
    print(table(["run", "rows", "time", "rows/s", "peak RSS", "result"], rows, right={1, 2, 3, 4}))
    print(
        "   time: the step itself, measured in its process (start-up not counted); peak RSS: that process's. "
        f"The baseline also inserts the {bare['tag_links']:,} tag links; it writes no change-log rows."
    )


def outcome(figures: dict) -> str:
    parts = [f"{figures[k]:,} {k}" for k in ("created", "updated", "unchanged") if figures.get(k)]
    if figures["error_rows"]:
        parts.append(f"{figures['error_rows']:,} rows with errors ({', '.join(figures['error_codes'])})")
    return ", ".join(parts) or "—"


def report_dossier(env: dict[str, str], repeat: int, table) -> None:
    figures, run = child(["dossier", str(repeat)], env)
    print(
        f"\n4b. Dossier data (ledger.dossier.build_dossier), median of {repeat} runs after a warm-up, "
        f"in milliseconds (peak RSS {run.peak_rss_mb:.0f} MB)"
    )
    print(
        "   baseline: a bare grouped COUNT of the residents per attention tag living under the unit (no scope)"
    )
    rows = []
    for f in figures["units"]:
        rows.append(
            [
                f"{f['level']} {f['name']} ({f['code']}), as {f['user']}",
                f"{f['households']:,}",
                f"{f['residents']:,}",
                f"{f['queries']}",
                f"{f['dossier_ms']:.1f}",
                f"{f['baseline_ms']:.1f}",
                f"{f['dossier_ms'] / f['baseline_ms']:.1f}×",
            ]
        )
    print(
        table(
            ["unit", "households", "residents", "queries", "dossier", "baseline", "dossier/base"],
            rows,
            right={1, 2, 3, 4, 5, 6},
        )
    )


# =====================================================================================================
# The children: Django is set up on a bench database.


def setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    django.setup()


def write_files(folder: Path, households_wanted: int, residents_wanted: int) -> dict:
    """New households spread over the demo's grids (in proportion to the households already there), with
    members from the demo's people generator; the same rows as .csv, as .xlsx and pickled for the bare
    insert. ID numbers are kept clear of every one already registered."""
    from django.utils import timezone

    from wangge.demo.ledger import OWNER_SIZES, People, draw_size
    from wangge.ledger.choices import (
        OrganisationKind,
        PoliticalStatus,
        Relation,
        ResidenceType,
        ResidentStatus,
        Sex,
    )
    from wangge.ledger.columns import COLUMNS, NO, YES, choice_label
    from wangge.ledger.models import AttentionTag, Household, Organisation, Resident
    from wangge.units.models import Unit

    rnd = random.Random(SEED)
    today = timezone.localdate()
    # The field decrypts as it reads: the first 17 digits of every ID number already registered.
    taken = {int(value[:17]) for value in Resident.objects.values_list("id_number", flat=True) if value}
    homes: dict[int, list[tuple[float, float]]] = {}
    for grid_id, lng, lat in Household.objects.values_list("grid_id", "lng", "lat"):
        homes.setdefault(grid_id, []).append((lng, lat))
    units = {u.pk: u for u in Unit.objects.filter(pk__in=homes)}
    unit_names = dict(Unit.objects.filter(depth__in=(2, 3)).values_list("path", "name"))
    branches = dict(
        Organisation.objects.filter(kind=OrganisationKind.PARTY_BRANCH).values_list("unit__path", "name")
    )
    tag_names = dict(AttentionTag.objects.filter(code__in=FILE_TAGS).values_list("code", "name"))
    grids = sorted(homes, key=lambda pk: units[pk].code)
    weights = [len(homes[pk]) for pk in grids]

    # Exactly `residents` people: the demo's sizes, then households made smaller (or larger) one by one.
    sizes = [draw_size(rnd, OWNER_SIZES) for _ in range(households_wanted)]
    excess = sum(sizes) - residents_wanted
    while excess:
        i = rnd.randrange(households_wanted)
        if excess > 0 and sizes[i] > 1:
            sizes[i] -= 1
            excess -= 1
        elif excess < 0 and sizes[i] < 6:
            sizes[i] += 1
            excess += 1
    people = People(rnd, today, taken)
    households, residents = [], []
    sequence: dict[int, int] = {}
    for grid_id, size in zip(rnd.choices(grids, weights=weights, k=households_wanted), sizes, strict=True):
        grid = units[grid_id]
        n = sequence[grid_id] = sequence.get(grid_id, 0) + 1
        number = f"{grid.code}N{n:04d}"
        lng, lat = rnd.choice(homes[grid_id])
        village_path = grid.path[: 3 * grid.steplen]
        place = unit_names[grid.path[: 2 * grid.steplen]] + unit_names[village_path] + grid.name
        rented = rnd.random() < 0.08
        landlord = (people.full_name(), people.phone()) if rented else ("", "")
        households.append((number, grid.code, f"{place}新建{n}号", f"{n}号", lng, lat, rented, *landlord))
        for p in people.members(number, size, rented=False):
            party = p.age >= 18 and rnd.random() < 0.07
            tags = [code for code, share in FILE_TAGS.items() if rnd.random() < share]
            if "veteran" in tags and (p.sex != Sex.MALE or not 25 <= p.age <= 70):
                tags.remove("veteran")
            residents.append(
                (
                    number,
                    p.name,
                    p.sex,
                    p.id_number,
                    p.birth_date.isoformat(),
                    people.phone() if p.age >= 16 else "",
                    p.relation,
                    p.ethnicity,
                    ResidenceType.REGISTERED,
                    "学生" if p.age < 18 else rnd.choice(("务农", "个体经营", "企业职工", "务工", "无")),
                    PoliticalStatus.PARTY_MEMBER if party else PoliticalStatus.MASSES,
                    branches.get(village_path, "") if party else "",
                    tuple(tags),
                )
            )

    def household_cells(h):
        number, grid, address, door, lng, lat, rented, landlord, phone = h
        return {
            "number": number, "grid": grid, "registered_grid": "", "address": address, "door_number": door,
            "lng": lng, "lat": lat, "is_rental": YES if rented else NO, "landlord_name": landlord,
            "landlord_phone": phone, "notes": "",
        }  # fmt: skip

    def resident_cells(r):
        (
            number,
            name,
            sex,
            id_number,
            born,
            phone,
            relation,
            ethnicity,
            residence,
            job,
            status,
            party,
            tags,
        ) = r
        return {
            "id_number": id_number, "household": number, "name": name, "sex": choice_label(Sex, sex),
            "birth_date": born, "phone": phone, "relation": choice_label(Relation, relation),
            "ethnicity": ethnicity, "residence_type": choice_label(ResidenceType, residence),
            "registered_grid": "", "registered_address": "", "occupation": job,
            "political_status": choice_label(PoliticalStatus, status), "party_organisation": party,
            "tags": "、".join(tag_names[c] for c in tags if c in tag_names),
            "status": choice_label(ResidentStatus, ResidentStatus.PRESENT), "notes": "",
        }  # fmt: skip

    sizes_of = {}
    for kind, rows, cells in (
        ("households", households, household_cells),
        ("residents", residents, resident_cells),
    ):
        columns = COLUMNS[kind]
        path = folder / f"{kind}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow([c.header for c in columns])
            for row in rows:
                values = cells(row)
                writer.writerow(["" if values[c.key] is None else values[c.key] for c in columns])
        sizes_of[path.name] = path.stat().st_size
        path = folder / f"{kind}.xlsx"
        write_xlsx(path, [c.header for c in columns], ([cells(row)[c.key] for c in columns] for row in rows))
        sizes_of[path.name] = path.stat().st_size
    with open(folder / "rows.pickle", "wb") as out:
        pickle.dump({"households": households, "residents": residents}, out)
    return {
        "households": len(households),
        "residents": len(residents),
        "grids": len(sequence),
        "sizes": sizes_of,
    }


def write_xlsx(path: Path, header: list[str], rows) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


def run_import(kind: str, fmt: str, step: str, folder: Path) -> dict:
    from wangge.ledger import imports
    from wangge.people.models import User
    from wangge.units.models import Unit

    user = User.objects.get(username="demo-admin")
    county = Unit.objects.get(depth=1)
    path = folder / f"{kind}.{fmt}"
    started = time.perf_counter()
    if step == "check":
        result = imports.check(path, kind, user=user, unit=county)
    else:
        result = imports.apply(path, kind, user=user, unit=county, mode=imports.ImportMode.VALID_ONLY)
    seconds = time.perf_counter() - started
    if step == "apply":
        from wangge.demo.generator import analyze
        from wangge.ledger.models import Household, Resident

        analyze(Household, Resident, Resident.tags.through)  # as a bulk import should end (bench README §2)
    return {
        "rows": result.row_count,
        "seconds": seconds,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "error_rows": result.error_row_count,
        "error_codes": sorted({e["code"] for e in result.errors})[:5],
    }


def bare_insert(folder: Path) -> dict:
    """The same households and residents (and tag links) as bare INSERTs into the ledger tables, in one
    transaction: no parsing, no checks, no change log, values encrypted and indexed beforehand."""
    from django.db import connection, transaction
    from django.db.models import Max

    from wangge.core.pii import blind_index, encrypt
    from wangge.demo.ledger import stamp
    from wangge.ledger.choices import OrganisationKind
    from wangge.ledger.models import AttentionTag, Household, Organisation, Resident
    from wangge.ledger.services import ID_INDEX_KIND, PHONE_INDEX_KIND
    from wangge.units.models import Unit

    with open(folder / "rows.pickle", "rb") as source:
        data = pickle.load(source)
    started = time.perf_counter()
    now = stamp(datetime.datetime.now(datetime.timezone.utc))
    grids = dict(Unit.objects.values_list("code", "pk"))
    branches = dict(Organisation.objects.filter(kind=OrganisationKind.PARTY_BRANCH).values_list("name", "pk"))
    tags = dict(AttentionTag.objects.values_list("code", "pk"))
    first_household = (Household.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    first_resident = (Resident.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    household_ids = {h[0]: first_household + i for i, h in enumerate(data["households"])}

    def secret(kind, value):
        return (encrypt(value), blind_index(kind, value)) if value else ("", "")

    households = [
        (household_ids[number], now, now, number, grids[grid], address, door, lng, lat, rented, landlord,
         *secret(PHONE_INDEX_KIND, phone), "active", "")
        for number, grid, address, door, lng, lat, rented, landlord, phone in data["households"]
    ]  # fmt: skip
    residents, links = [], []
    for i, (
        number,
        name,
        sex,
        id_number,
        born,
        phone,
        relation,
        ethnicity,
        residence,
        job,
        status,
        party,
        codes,
    ) in enumerate(data["residents"]):
        pk = first_resident + i
        residents.append(
            (pk, now, now, household_ids[number], name, sex, encrypt(id_number), blind_index(ID_INDEX_KIND, id_number),
             born, *secret(PHONE_INDEX_KIND, phone), relation, ethnicity, residence, "", job, status,
             branches.get(party), "present", "")
        )  # fmt: skip
        links += [(pk, tags[code]) for code in codes]
    prepared = time.perf_counter()

    quote = connection.ops.quote_name

    def sql(model, columns):
        return "INSERT INTO {} ({}) VALUES ({})".format(
            quote(model._meta.db_table), ", ".join(map(quote, columns)), ", ".join(["%s"] * len(columns))
        )

    household_sql = sql(
        Household,
        ["id", "created_at", "updated_at", "number", "grid_id", "address", "door_number", "lng", "lat",
         "is_rental", "landlord_name", "landlord_phone", "landlord_phone_index", "status", "notes"],
    )  # fmt: skip
    resident_sql = sql(
        Resident,
        ["id", "created_at", "updated_at", "household_id", "name", "sex", "id_number", "id_number_index",
         "birth_date", "phone", "phone_index", "relation", "ethnicity", "residence_type", "registered_address",
         "occupation", "political_status", "party_organisation_id", "status", "notes"],
    )  # fmt: skip
    link_sql = sql(Resident.tags.through, ["resident_id", "attentiontag_id"])
    begun = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement, rows in ((household_sql, households), (resident_sql, residents), (link_sql, links)):
            for start in range(0, len(rows), 5000):
                cursor.executemany(statement, rows[start : start + 5000])
    seconds = time.perf_counter() - begun
    return {
        "rows": len(households) + len(residents),
        "tag_links": len(links),
        "seconds": seconds,
        "prepare_seconds": prepared - started,
    }


def measure_dossier(repeat: int) -> dict:
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from wangge.ledger.dossier import build_dossier
    from wangge.ledger.models import Resident
    from wangge.people.models import Post
    from wangge.people.roles import Role
    from wangge.units.models import Unit

    # The first 镇 (code …100), as in section 2, and its first village.
    township = (
        Unit.objects.filter(depth=2, code__endswith="100").first() or Unit.objects.filter(depth=2).last()
    )
    village = Unit.objects.filter(path__startswith=township.path, depth=3).order_by("code").first()
    out = []
    for unit, level, role in (
        (village, "village", Role.VILLAGE_ADMIN),
        (township, "township", Role.TOWNSHIP_ADMIN),
    ):
        user = Post.objects.filter(unit=unit, role=role).select_related("user").first().user
        sub = Unit.objects.filter(path__startswith=unit.path).values("pk")

        def dossier(unit=unit, user=user):
            return build_dossier(unit, user)

        def baseline(sub=sub):
            return list(
                Resident.tags.through.objects.filter(resident__household__grid__in=sub)
                .values("attentiontag_id")
                .annotate(n=Count("pk"))
            )

        with CaptureQueriesContext(connection) as queries:
            built = dossier()
        dossier_ms = median_ms(dossier, repeat)
        baseline_ms = median_ms(baseline, repeat)
        out.append(
            {
                "level": level,
                "name": unit.name,
                "code": unit.code,
                "user": user.username,
                "households": built.households["active"],
                "residents": built.residents["living"],
                "queries": len(queries),
                "dossier_ms": dossier_ms,
                "baseline_ms": baseline_ms,
            }
        )
    return {"units": out}


def main(argv: list[str]) -> None:
    setup()
    from django.utils import translation

    with translation.override("zh-hans"):
        if argv[0] == "files":
            figures = write_files(Path(argv[1]), int(argv[2]), int(argv[3]))
        elif argv[0] == "import":
            figures = run_import(argv[1], argv[2], argv[3], Path(argv[4]))
        elif argv[0] == "bare":
            figures = bare_insert(Path(argv[1]))
        elif argv[0] == "dossier":
            figures = measure_dossier(int(argv[1]))
        else:
            raise SystemExit(__doc__)
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
