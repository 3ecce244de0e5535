"""`wangge demo`: load the synthetic demo county into an empty database (see wangge.demo.generator)."""

from django.core.management.base import BaseCommand, CommandError

from wangge.demo.generator import SCALES, DemoError, build_demo
from wangge.units.models import Unit


class Command(BaseCommand):
    help = (
        "Build a deterministic synthetic county in an empty database: units, grids, staff, households "
        "with their ledgers (residents, places, organisations) and a year of cases through the whole loop."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=sorted(SCALES), default="small", help="small (default) or county"
        )
        parser.add_argument("--seed", type=int, default=1, help="the same seed always builds the same county")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing, successfully, when the database already holds units",
        )

    def handle(self, *args, scale, seed, if_empty, **options):
        if units := Unit.objects.count():
            if if_empty:
                self.stdout.write(
                    f"The database already holds {units} units; the demo county was not loaded."
                )
                return
            # Never delete: the database may hold real data. Loading over it would mix two counties.
            raise CommandError(
                f"The database already holds {units} units; the demo county loads only into an empty "
                "database. Use --if-empty to skip quietly, or point WANGGE_VAR_DIR/DATABASE_URL elsewhere."
            )
        try:
            build_demo(scale, seed, stdout=self.stdout)
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Sign in with one of the demo logins: wangge demo-logins")
