from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache


@login_required
def home(request):
    """Send each user to the top unit they serve; a user without posts gets an explanation."""
    unit = request.user.primary_unit()
    if unit is not None:
        return redirect(unit)
    return render(request, "core/no_post.html", status=403)


@never_cache
def healthz(request):
    """Liveness for load balancers and monitoring: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not healthy"; the message says which
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
