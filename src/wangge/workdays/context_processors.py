from .calendar import calendar_warning_text


def calendar_warning(request):
    """`calendar_warning` for the banner in base.html, for signed-in users while a year lacks data.

    Anonymous visitors (residents, the sign-in page) have no deadlines to distrust, so they are spared.
    """
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    text = calendar_warning_text()
    return {"calendar_warning": text} if text else {}
