"""Pages of the users app (/users/…). Thin: parse a form, call selectors or one service, render or redirect.

Summaries (overview, life cycle, channels) are for every role (Area.CUSTOMERS); single customers are for user ops,
analysts and admins (Area.CUSTOMER_RECORDS). ``role_required`` runs before any lookup.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError, form_add_errors
from ops_platform.core.labels import with_channel_labels
from ops_platform.core.pagination import list_page
from ops_platform.core.permissions import role_required
from ops_platform.core.report_files import report_download
from ops_platform.core.roles import Action, Area, can
from ops_platform.core.stats import MIN_SAMPLE
from users import selectors
from users.forms import (
    ChannelSpendForm,
    CodeCountForm,
    CouponCampaignForm,
    CustomerFilterForm,
    RangeForm,
    SegmentForm,
    SpendImportForm,
)
from users.services.channels import channel_spend_delete, channel_spend_import, channel_spend_save
from users.services.coupons import (
    coupon_campaign_create,
    coupon_campaign_results,
    coupon_codes_generate,
    coupon_issue_preview,
    coupon_issue_to_segment,
    coupon_redemptions_refresh,
)
from users.services.exports import coupon_codes_report, customers_report
from users.services.segments import segment_delete, segment_rebuild, segment_save
from users.tasks import customers_refresh_task

PAGE_SIZE = 50


def _filters(form: CustomerFilterForm) -> dict:
    if not (form.is_bound and form.is_valid()):
        return {}
    return form.selector_filters()


@role_required(Area.CUSTOMERS)
def overview(request):
    return render(request, "users/overview.html", {
        "summary": selectors.customer_summary(), "refresh": selectors.customer_refresh_latest(),
        "can_refresh": can(request.user, Area.CUSTOMERS, Action.CHANGE),
        "can_records": can(request.user, Area.CUSTOMER_RECORDS),
        "can_export_job": can(request.user, Area.ANALYTICS, Action.CHANGE),
    })


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def refresh(request):
    transaction.on_commit(lambda: customers_refresh_task.delay("manual"))
    messages.success(request, _("The customer refresh has been queued."))
    return redirect("users:customers")


@role_required(Area.CUSTOMER_RECORDS)
def customer_list(request):
    form = CustomerFilterForm(request.GET or None)
    customers = list(selectors.customer_list(**_filters(form))[:PAGE_SIZE + 1])
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "users/customer_list.html", {
        "form": form, "customers": customers[:PAGE_SIZE], "more": len(customers) > PAGE_SIZE,
        "query": request.GET.urlencode(), "can_export_job": can(request.user, Area.ANALYTICS, Action.CHANGE),
    }, status=status)


@role_required(Area.CUSTOMER_RECORDS)
def customer_export(request):
    """The customer list with its filters, each customer's R, F and M scores beside (``users/report_files.py``)."""
    return report_download(request, "customers")


@role_required(Area.CUSTOMERS)
def rfm_export(request):
    """The customers page's RFM grid, segments and stages (counts only)."""
    return report_download(request, "rfm")


@role_required(Area.CUSTOMERS)
def lifecycle_export(request):
    return report_download(request, "lifecycle")


@role_required(Area.CUSTOMERS)
def channels_export(request):
    return report_download(request, "channel_quality")


@role_required(Area.CUSTOMER_RECORDS)
def customer_detail(request, distinct_id: str):
    customer = selectors.customer_get(distinct_id=distinct_id)
    if customer is None:
        raise Http404(_("No such customer."))
    return render(request, "users/customer_detail.html", {
        "customer": customer, "timeline": selectors.customer_timeline(customer=customer),
        "invite_code": customer.invite_code or selectors.invite_code_of(customer.distinct_id),
        "referred_by": selectors.referral_resolve(referrer=customer.referrer, signed_up_at=customer.signed_up_at),
        "referral_tree": selectors.referral_tree(customer=customer),
    })


def _range(request) -> tuple[RangeForm, dict | None]:
    """The page's range form and its dates; a range left out (the first visit) is shown as the dates it resolved to,
    so the date inputs say what the page shows."""
    form = RangeForm(request.GET)
    if not form.is_valid():
        return form, None
    span = form.cleaned_data
    shown = RangeForm({"date_from": span["date_from"].isoformat(), "date_to": span["date_to"].isoformat()})
    shown.is_valid()
    return shown, span


@role_required(Area.CUSTOMERS)
def lifecycle(request):
    form, span = _range(request)
    context = {"form": form}
    if span:
        context.update(series=selectors.stage_daily_series(date_from=span["date_from"], date_to=span["date_to"]),
                       flows=selectors.stage_flows(date_from=span["date_from"], date_to=span["date_to"]),
                       summary=selectors.customer_summary())
    return render(request, "users/lifecycle.html", context, status=200 if span else 400)


@role_required(Area.CUSTOMERS)
def channels(request):
    form, span = _range(request)
    context = {"form": form, "can_change": can(request.user, Area.CUSTOMERS, Action.CHANGE),
               "spend_form": ChannelSpendForm(), "import_form": SpendImportForm(),
               "spend": list(selectors.channel_spend_list()[:100])}
    if span:
        context["quality"] = selectors.channel_quality(date_from=span["date_from"], date_to=span["date_to"])
        with_channel_labels(context["quality"]["channels"])
    return render(request, "users/channels.html", context, status=200 if span else 400)


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def channel_spend_add(request):
    form = ChannelSpendForm(request.POST)
    if form.is_valid():
        try:
            channel_spend_save(**form.cleaned_data)
        except ApplicationError as error:
            messages.error(request, error.message)
        except Exception as error:  # a model ValidationError: show its field messages
            if not hasattr(error, "message_dict"):
                raise
            messages.error(request, "; ".join(f"{field}: {' '.join(errs)}" for field, errs in
                                              error.message_dict.items()))
        else:
            messages.success(request, _("Spend saved."))
    else:
        messages.error(request, "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields
                                          else " ".join(errors) for name, errors in form.errors.items()))
    return redirect("users:channels")


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def channel_spend_import_view(request):
    form = SpendImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV or XLSX file."))
        return redirect("users:channels")
    upload = form.cleaned_data["file"]
    try:
        result = channel_spend_import(content=upload.read(), filename=upload.name)
    except ApplicationError as error:
        messages.error(request, f"{error.message} {'; '.join(' '.join(v) for v in error.errors.values())}")
        return redirect("users:channels")
    messages.success(request, _("Imported %(n)s rows.") % {"n": result["imported"]})
    for rejected in result["rejected"][:20]:
        messages.error(request, _("Row %(row)s: %(errors)s") % {"row": rejected["row"], "errors": "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in rejected["errors"].items())})
    return redirect("users:channels")


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def channel_spend_remove(request, spend_id: int):
    try:
        channel_spend_delete(spend_id=spend_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, _("Spend deleted."))
    return redirect("users:channels")


# Segments


def _segment_or_404(segment_id: int):
    segment = selectors.segment_get(segment_id=segment_id)
    if segment is None:
        raise Http404(_("No such segment."))
    return segment


def _save_segment(request, form: SegmentForm, segment=None):
    try:
        return segment_save(actor=request.user, segment=segment, **form.cleaned_data)
    except ApplicationError as error:
        form_add_errors(form, error)
        return None


@role_required(Area.CUSTOMERS)
def segment_list(request):
    can_change = can(request.user, Area.CUSTOMERS, Action.CHANGE)
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            segment = _save_segment(request, form)
            if segment is not None:
                messages.success(request, _("Segment saved: %(n)s customers.") % {"n": segment.size})
                return redirect("users:segment", segment.pk)
    return render(request, "users/segment_list.html", {
        "segments": selectors.segment_list(), "form": form, "can_change": can_change,
        "rule_schema": selectors.segment_rule_schema() if can_change else None,
    }, status=400 if form.errors else 200)


@role_required(Area.CUSTOMERS)
def segment_detail(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    can_change = can(request.user, Area.CUSTOMERS, Action.CHANGE)
    form = SegmentForm(request.POST or None, initial={"name": segment.name, "description": segment.description,
                                                     "rules": segment.rules})
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid() and _save_segment(request, form, segment) is not None:
            messages.success(request, _("Segment saved."))
            return redirect("users:segment", segment.pk)
    can_records = can(request.user, Area.CUSTOMER_RECORDS)
    # a page of the stored members, the count and pager links that keep the page's other parameters (two queries)
    listing = (list_page(request, selectors.segment_members(segment=segment), per_page=PAGE_SIZE) if can_records
               else None)
    return render(request, "users/segment_detail.html", {
        "segment": segment, "form": form, "can_change": can_change, "can_records": can_records,
        "members": listing.rows if listing else [], "members_page": listing,
        "sizes": selectors.segment_sizes(segment=segment),
        "rule_schema": selectors.segment_rule_schema() if can_change else None,
    }, status=400 if form.errors else 200)


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def segment_rebuild_view(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    segment = segment_rebuild(segment_id=segment.pk)
    messages.success(request, _("Rebuilt: %(n)s customers in %(s)s s.") % {"n": segment.size,
                                                                            "s": segment.build_seconds})
    return redirect("users:segment", segment.pk)


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def segment_delete_view(request, segment_id: int):
    try:
        segment_delete(segment_id=segment_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, _("Segment deleted."))
    return redirect("users:segments")


@role_required(Area.CUSTOMER_RECORDS)
def segment_export(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    return exports.csv_response(customers_report(customers=selectors.segment_members(segment=segment),
                                                 name=f"segment-{segment.pk}"))


# Coupons


def _campaign_or_404(campaign_id: int):
    campaign = selectors.coupon_campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404(_("No such campaign."))
    return campaign


@role_required(Area.CUSTOMERS)
def coupon_list(request):
    can_change = can(request.user, Area.CUSTOMERS, Action.CHANGE)
    form = CouponCampaignForm(request.POST or None)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                campaign = coupon_campaign_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Campaign created."))
                return redirect("users:coupon", campaign.pk)
    return render(request, "users/coupon_list.html", {
        "campaigns": selectors.coupon_campaign_list(), "form": form, "can_change": can_change,
    }, status=400 if form.errors else 200)


@role_required(Area.CUSTOMERS)
def coupon_detail(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    can_records = can(request.user, Area.CUSTOMER_RECORDS)
    return render(request, "users/coupon_detail.html", {
        "campaign": campaign, "results": coupon_campaign_results(campaign_id=campaign.pk),
        "can_change": can(request.user, Area.CUSTOMERS, Action.CHANGE), "can_records": can_records,
        "suspicious": list(selectors.coupon_redemption_list(campaign=campaign, suspicious=True)[:PAGE_SIZE])
        if can_records else [],
        "code_form": CodeCountForm(),
        "preview": _issue_preview(campaign) if can(request.user, Area.CUSTOMERS, Action.CHANGE) else None,
        "min_n": MIN_SAMPLE,
    })


def _issue_preview(campaign) -> dict | None:
    try:
        return coupon_issue_preview(campaign_id=campaign.pk)
    except ApplicationError:
        return None  # no built segment: the issue button says why when pressed


def _refused(request, error: ApplicationError) -> None:
    details = "; ".join(message for messages_ in error.errors.values() for message in messages_)
    messages.error(request, f"{error.message} {details}".strip())


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def coupon_generate(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    form = CodeCountForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("count", [])))
    else:
        try:
            count = coupon_codes_generate(campaign_id=campaign.pk, count=form.cleaned_data["count"])
        except ApplicationError as error:
            _refused(request, error)
        else:
            messages.success(request, _("%(n)s codes generated.") % {"n": count})
    return redirect("users:coupon", campaign.pk)


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def coupon_issue(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    try:
        result = coupon_issue_to_segment(campaign_id=campaign.pk,
                                         allow_partial=request.POST.get("allow_partial") == "1")
    except ApplicationError as error:
        _refused(request, error)
    else:
        (messages.warning if result.stopped_by_budget else messages.success)(request, result.message)
    return redirect("users:coupon", campaign.pk)


@role_required(Area.CUSTOMERS, Action.CHANGE)
@require_POST
def coupon_redemptions_refresh_view(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    count = coupon_redemptions_refresh(campaign_id=campaign.pk)
    messages.success(request, _("%(n)s redemptions read from the orders.") % {"n": count})
    return redirect("users:coupon", campaign.pk)


@role_required(Area.CUSTOMER_RECORDS)
def coupon_codes_export(request, campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    return exports.csv_response(coupon_codes_report(codes=selectors.coupon_codes(campaign=campaign),
                                                    name=f"coupon-codes-{campaign.pk}"))


# Referral


@role_required(Area.CUSTOMERS)
def referral(request):
    form, span = _range(request)
    can_records = can(request.user, Area.CUSTOMER_RECORDS)
    context = {"form": form, "can_records": can_records}
    if span:
        k_factor = with_channel_labels(selectors.referral_k_factor(date_from=span["date_from"],
                                                                  date_to=span["date_to"]))
        for row in k_factor:  # the month in progress: hatched in the chart, "so far" in its tooltip (charts.js)
            row["partial"] = None if row["complete"] else str(_("so far"))
        context.update(k_factor=k_factor, month_so_far=next((row["month"] for row in k_factor
                                                             if not row["complete"]), None))
    if can_records:
        referrers = selectors.referral_referrers()
        context.update(top=referrers["top"], fraud=referrers["fraud_signals"], unresolved=referrers["unresolved"])
    return render(request, "users/referral.html", context, status=200 if span else 400)
