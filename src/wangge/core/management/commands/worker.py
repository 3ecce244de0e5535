import signal
import threading

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy as _

from wangge.core import worker


class Command(BaseCommand):
    help = _("Run the background sweeps (overdue cases, deadline reminders) in a loop, or once with --once.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=_("Run every sweep once and exit."))
        parser.add_argument(
            "--interval", type=float, default=60.0, help=_("Seconds to wait between passes (default 60).")
        )

    def handle(self, once, interval, **options):
        if once:
            failed = False
            for path, result in worker.run_once().items():
                failed |= isinstance(result, Exception)
                self.stdout.write(f"{path}: {result}")
            if failed:
                raise SystemExit(1)
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(_("Worker running every %(seconds)s s; stop with Ctrl-C.") % {"seconds": interval})
        worker.run_forever(interval, stop)
