"""The monthly report's routes, mounted under the dashboard's namespace by `wangge.dashboard.urls`."""

import datetime

from django.urls import path, register_converter

from . import report_views


class MonthConverter:
    """A month as YYYY-MM in the URL, the first day of that month in the view."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> datetime.date:
        return datetime.date.fromisoformat(f"{value}-01")  # a ValueError (month 13) is no match: 404

    def to_url(self, value) -> str:
        return f"{value:%Y-%m}" if isinstance(value, datetime.date) else str(value)


register_converter(MonthConverter, "report_month")

urlpatterns: list = [
    path("<str:code>/reports/", report_views.report_list, name="reports"),
    path("<str:code>/reports/generate/", report_views.report_generate, name="report_generate"),
    path("<str:code>/reports/<report_month:month>.pdf", report_views.report_pdf, name="report_pdf"),
    path("<str:code>/reports/<report_month:month>.xlsx", report_views.report_xlsx, name="report_xlsx"),
]
