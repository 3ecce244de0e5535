from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from wangge.core.scope import get_visible_or_404

from .models import Unit


@login_required
def unit_detail(request, code):
    unit = get_visible_or_404(Unit.objects.select_related("level"), request.user, code=code)
    return render(request, "units/unit_detail.html", {"unit": unit})
