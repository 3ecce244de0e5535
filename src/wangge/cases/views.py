from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from wangge.core.scope import get_visible_or_404

from .models import Case


@login_required
def queue(request):
    cases = Case.objects.visible_to(request.user).select_related("category", "unit")[:100]
    return render(request, "cases/queue.html", {"cases": cases})


@login_required
def detail(request, pk):
    case = get_visible_or_404(Case.objects.all(), request.user, pk=pk)
    return render(request, "cases/detail.html", {"case": case})
