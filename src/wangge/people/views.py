from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def profile(request):
    return render(request, "people/profile.html", {"posts": request.user.active_posts()})
