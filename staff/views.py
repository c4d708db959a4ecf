"""The staff home: what needs each role's attention, read by one selector
(`staff/selectors.py`) from every app's selectors."""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from common.access import staff_required
from staff.selectors import staff_home_for


@staff_required
@require_safe
def staff_home(request: HttpRequest) -> HttpResponse:
    home = staff_home_for(user=request.user)
    context = {f.name: getattr(home, f.name) for f in dataclasses.fields(home)}
    return render(request, "staff/home.html", context)
