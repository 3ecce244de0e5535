"""`wangge demo-logins`: the fixed demo accounts, one per role, with the unit each one serves."""

from django.core.management.base import BaseCommand
from django.utils import translation

from wangge.core.testing import PASSWORD
from wangge.demo.generator import DEMO_LOGINS
from wangge.people.models import Post


class Command(BaseCommand):
    help = "List the demo logins (username, password, role, unit) created by `wangge demo`."

    def handle(self, *args, **options):
        usernames = [username for username, _role in DEMO_LOGINS]
        posts = {
            post.user.username: post
            for post in Post.objects.filter(user__username__in=usernames).select_related(
                "user", "unit", "department"
            )
        }
        if not posts:
            self.stdout.write("No demo logins here: run `wangge demo` on an empty database first.")
            return
        # Role labels in the UI's default language, whatever the shell's locale.
        with translation.override("zh-hans"):
            rows = [
                (username, PASSWORD, str(post.get_role_display()), unit_label(post), post.unit.code)
                for username in usernames
                if (post := posts.get(username))
            ]
        header = ("username", "password", "role", "unit", "code")
        self.stdout.write(format_table(header, rows))


def unit_label(post: Post) -> str:
    return f"{post.unit.name} · {post.department.name}" if post.department else post.unit.name


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(display_width(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        padded = (
            cell + " " * (width - display_width(cell)) for cell, width in zip(cells, widths, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
