"""Report pages: a GET form, one selector, a template. Parameters follow the same rules as the API."""

from __future__ import annotations

from django.shortcuts import render

from analytics import forms, selectors
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Area


def _report_page(request, *, form_class, defaults, compute, template):
    form = forms.page_form(form_class, request.GET, defaults=lambda: defaults(selectors.report_last_day()))
    report = compute(**form.report_arguments()) if form.is_valid() else None
    return render(request, template, {"form": form, "report": report, "event_names": selectors.event_names()})


@role_required(Area.ANALYTICS)
def funnel_page(request):
    return _report_page(request, form_class=forms.FunnelForm, defaults=forms.funnel_defaults,
                        compute=selectors.funnel_compute, template="analytics/funnel.html")


@role_required(Area.ANALYTICS)
def retention_page(request):
    return _report_page(request, form_class=forms.RetentionForm, defaults=forms.retention_defaults,
                        compute=selectors.retention_compute, template="analytics/retention.html")


@role_required(Area.ANALYTICS)
def golden_time_page(request):
    return _report_page(request, form_class=forms.GoldenTimeForm, defaults=forms.golden_time_defaults,
                        compute=selectors.golden_time_compute, template="analytics/golden_time.html")
