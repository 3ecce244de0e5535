from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from wangge.cases.categories import CATEGORIES_FILE, load_categories, read_categories
from wangge.cases.models import Category, TimeLimit


class Command(BaseCommand):
    help = _("Add the case categories and time limits of a data file that the database does not have yet.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(CATEGORIES_FILE))

    def handle(self, path, **options):
        from pathlib import Path

        with transaction.atomic():
            added = load_categories(Category, TimeLimit, read_categories(Path(path)))
        self.stdout.write(f"categories +{added['categories']}, time limits +{added['time_limits']}")
