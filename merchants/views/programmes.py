"""Pages of the growth programmes: campaigns (create, edit, invite in bulk, record answers), training (courses,
sessions, enrolment, attendance) and recruitment targets.

Thin, like the other pages: parse a form, call one service, redirect; a refused or invalid form is shown again
with the messages beside its fields (400). Readers get the pages without the forms, and every POST asks for the
change right (``role_required``) before anything else; ownership (an operator's own merchants, a campaign's
creator) is the services' answer, a 403 here.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from merchants import selectors
from merchants.forms import (
    AttendanceForm,
    CampaignForm,
    CampaignInviteForm,
    CourseForm,
    EnrolForm,
    InviteRespondForm,
    SessionForm,
    TargetForm,
)
from merchants.models import CampaignInvite, Course, RecruitmentTarget, Tier
from merchants.services.campaigns import (
    campaign_can_edit,
    campaign_create,
    campaign_invite,
    campaign_invite_respond,
    campaign_results,
    campaign_update,
)
from merchants.services.pipeline import recruitment_target_create, recruitment_target_update
from merchants.services.training import (
    course_create,
    course_update,
    training_attendance_mark,
    training_enrol,
    training_session_create,
    training_session_update,
)
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.permissions import role_required
from ops_platform.core.roles import Action, Area, can

INVITES_PAGE_SIZE = 100


def _picker_url(**params) -> str:
    """The merchant pickers' search endpoint, narrowed to a session's or a campaign's candidates."""
    return reverse("merchant-picker") + "?" + "&".join(f"{key}={value}" for key, value in params.items())


def _invite_form(request, campaign_id: int, data=None, **kwargs) -> CampaignInviteForm:
    return CampaignInviteForm(data, categories=selectors.merchant_filter_choices()["categories"],
                              merchants=selectors.merchant_pickable(user=request.user, campaign_id=campaign_id),
                              picker_url=_picker_url(campaign=campaign_id), auto_id="invite_%s", **kwargs)


def _refused(form, error: ApplicationError) -> None:
    """Put a service's refusal on the form: field errors beside their fields, the rest at the top."""
    if error.status_code == 403:
        raise PermissionDenied(error.message)
    if error.status_code == 404:
        raise Http404(error.message)
    placed = False
    for field, errors in error.errors.items():
        if field in form.fields:
            form.add_error(field, errors)
            placed = True
        else:
            form.add_error(None, errors)
    if not placed:
        form.add_error(None, error.message)


# Campaigns


@role_required(Area.MERCHANTS)
def campaigns(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST":
        if not can(request.user, Area.MERCHANTS, Action.CHANGE):
            raise PermissionDenied(_("Your role does not allow this action."))
        if form.is_valid():
            try:
                campaign = campaign_create(user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                _refused(form, error)
            else:
                messages.success(request, _("Campaign created."))
                return redirect("merchants:campaign", campaign.pk)
    return render(request, "merchants/campaigns.html", {
        "campaigns": list(selectors.campaign_list()[:100]), "form": form,
        "can_change": can(request.user, Area.MERCHANTS, Action.CHANGE)}, status=400 if form.errors else 200)


def _campaign_page(request, campaign_id: int, *, edit_form=None, invite_form=None):
    campaign = selectors.campaign_list().filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404(_("No such campaign."))
    can_change = can(request.user, Area.MERCHANTS, Action.CHANGE)
    can_edit = can_change and campaign_can_edit(user=request.user, campaign=campaign)
    if can_edit and edit_form is None:
        edit_form = CampaignForm(initial=CampaignForm.initial_for(campaign), auto_id="edit_%s")
    if can_change and invite_form is None:
        invite_form = _invite_form(request, campaign_id, initial={
            "tiers": campaign.target_tiers, "categories": campaign.target_categories})
    # a campaign may invite thousands of merchants: the invitations come a page at a time (the count and the page)
    invites = Paginator(selectors.campaign_invites(campaign_id=campaign_id), INVITES_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "merchants/campaign_detail.html", {
        "campaign": campaign, "invites": list(invites.object_list), "invites_page": invites,
        "tier_labels": [Tier(tier).label for tier in campaign.target_tiers if tier in Tier.values],
        "results": campaign_results(campaign=campaign), "statuses": CampaignInvite.Status,
        "can_change": can_change, "can_edit": can_edit, "edit_form": edit_form, "invite_form": invite_form,
        "manageable": set(selectors.merchant_manageable(user=request.user).filter(
            campaign_invites__campaign_id=campaign_id).values_list("pk", flat=True)) if can_change else set(),
    }, status=400 if (edit_form is not None and edit_form.errors) or (invite_form is not None and invite_form.errors)
        else 200)


@role_required(Area.MERCHANTS)
def campaign_detail(request, campaign_id: int):
    return _campaign_page(request, campaign_id)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def campaign_edit(request, campaign_id: int):
    form = CampaignForm(request.POST, auto_id="edit_%s")
    if form.is_valid():
        try:
            campaign_update(user=request.user, campaign_id=campaign_id, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("merchants:campaign", campaign_id)
    return _campaign_page(request, campaign_id, edit_form=form)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def campaign_invite_view(request, campaign_id: int):
    form = _invite_form(request, campaign_id, request.POST)
    if form.is_valid():
        named = [m.pk for m in form.cleaned_data["merchants"]]
        try:
            invited = campaign_invite(user=request.user, campaign_id=campaign_id, merchant_ids=named or None,
                                      tiers=form.cleaned_data["tiers"], categories=form.cleaned_data["categories"])
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, ngettext("%(n)d merchant invited.", "%(n)d merchants invited.", invited)
                             % {"n": invited})
            return redirect("merchants:campaign", campaign_id)
    return _campaign_page(request, campaign_id, invite_form=form)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def invite_respond(request, invite_id: int):
    form = InviteRespondForm(request.POST)
    invite = CampaignInvite.objects.filter(pk=invite_id).values_list("campaign_id", flat=True).first()
    if invite is None:
        raise Http404(_("No such invitation."))
    if not form.is_valid():
        messages.error(request, _("Choose an answer from the list."))
        return redirect("merchants:campaign", invite)
    try:
        campaign_invite_respond(user=request.user, invite_id=invite_id, status=form.cleaned_data["status"])
    except ApplicationError as error:
        if error.status_code == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, " ".join([error.message, *(" ".join(e) for e in error.errors.values())]))
        return redirect("merchants:campaign", invite)
    messages.success(request, _("Answer recorded."))
    return redirect("merchants:campaign", invite)


# Training


def _training_page(request, *, course_form=None, session_form=None):
    can_change = can(request.user, Area.MERCHANTS, Action.CHANGE)
    if can_change:
        course_form = course_form or CourseForm(auto_id="course_%s")
        session_form = session_form or SessionForm(auto_id="session_%s")
    failed = any(form is not None and form.errors for form in (course_form, session_form))
    return render(request, "merchants/training.html", {
        "courses": list(Course.objects.all()), "sessions": list(selectors.training_session_list()[:100]),
        "can_change": can_change, "course_form": course_form, "session_form": session_form,
    }, status=400 if failed else 200)


@role_required(Area.MERCHANTS)
def training(request):
    return _training_page(request)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def course_new(request):
    form = CourseForm(request.POST, auto_id="course_%s")
    if form.is_valid():
        try:
            course_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Course added."))
            return redirect("merchants:training")
    return _training_page(request, course_form=form)


@role_required(Area.MERCHANTS, Action.CHANGE)
def course_edit(request, course_id: int):
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404(_("No such course."))
    form = CourseForm(request.POST or None, editing=True, initial={
        "name": course.name, "description": course.description, "required_for": course.required_for})
    if request.method == "POST" and form.is_valid():
        try:
            course_update(user=request.user, course_id=course_id, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Course saved."))
            return redirect("merchants:training")
    return render(request, "merchants/form_page.html", {
        "title": _("Course %(code)s") % {"code": course.code}, "form": form, "back": "merchants:training",
        "testid": "course-edit"}, status=400 if form.errors else 200)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def session_new(request):
    form = SessionForm(request.POST, auto_id="session_%s")
    if form.is_valid():
        try:
            session = training_session_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Session added."))
            return redirect("merchants:session", session.pk)
    return _training_page(request, session_form=form)


def _session_page(request, session_id: int, *, edit_form=None, enrol_form=None, attendance_form=None):
    session = selectors.training_session_list().filter(pk=session_id).first()
    if session is None:
        raise Http404(_("No such session."))
    enrolments = list(selectors.training_session_enrolments(session_id=session_id))
    can_change = can(request.user, Area.MERCHANTS, Action.CHANGE)
    if can_change:
        edit_form = edit_form or SessionForm(auto_id="edit_%s", initial={
            "course": session.course_id, "starts_at": session.starts_at, "trainer": session.trainer,
            "place": session.place, "online": session.online, "capacity": session.capacity})
        tier = request.GET.get("tier") if request.GET.get("tier") in Tier.values else None
        enrol_form = enrol_form or EnrolForm(merchants=selectors.merchant_enrollable(
            user=request.user, session_id=session_id, tier=tier),
            picker_url=_picker_url(session=session_id, **({"tier": tier} if tier else {})))
        mine = selectors.merchant_manageable(user=request.user).filter(enrolments__session_id=session_id)
        mine = set(mine.values_list("pk", flat=True))
        attendance_form = attendance_form or AttendanceForm(enrolments=[e for e in enrolments
                                                                        if e.merchant_id in mine])
    failed = any(form is not None and form.errors for form in (edit_form, enrol_form, attendance_form))
    return render(request, "merchants/session.html", {
        "session": session, "enrolments": enrolments, "can_change": can_change, "edit_form": edit_form,
        "tiers": Tier.choices, "tier": request.GET.get("tier", ""),
        "enrol_form": enrol_form, "attendance_form": attendance_form,
    }, status=400 if failed else 200)


@role_required(Area.MERCHANTS)
def session_detail(request, session_id: int):
    return _session_page(request, session_id)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def session_edit(request, session_id: int):
    form = SessionForm(request.POST, auto_id="edit_%s")
    if form.is_valid():
        try:
            training_session_update(user=request.user, session_id=session_id, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Session saved."))
            return redirect("merchants:session", session_id)
    return _session_page(request, session_id, edit_form=form)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def session_enrol(request, session_id: int):
    form = EnrolForm(request.POST, merchants=selectors.merchant_enrollable(user=request.user, session_id=session_id),
                     picker_url=_picker_url(session=session_id))
    if form.is_valid():
        try:
            added = training_enrol(user=request.user, session_id=session_id,
                                   merchant_ids=[m.pk for m in form.cleaned_data["merchants"]])
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, ngettext("%(n)d merchant enrolled.", "%(n)d merchants enrolled.", added)
                             % {"n": added})
            return redirect("merchants:session", session_id)
    return _session_page(request, session_id, enrol_form=form)


@role_required(Area.MERCHANTS, Action.CHANGE)
@require_POST
def session_attendance(request, session_id: int):
    enrolments = list(selectors.training_session_enrolments(session_id=session_id))
    form = AttendanceForm(request.POST, enrolments=enrolments)
    if form.is_valid():
        marks = form.marks()
        if not marks:
            form.add_error(None, _("Mark at least one merchant as attended or absent."))
        else:
            try:
                certified = training_attendance_mark(user=request.user, session_id=session_id, attended=marks)
            except ApplicationError as error:
                _refused(form, error)
            else:
                messages.success(request, ngettext("Attendance saved; %(n)d merchant certified.",
                                                   "Attendance saved; %(n)d merchants certified.",
                                                   len(certified)) % {"n": len(certified)})
                return redirect("merchants:session", session_id)
    return _session_page(request, session_id, attendance_form=form)


# Recruitment targets


def _targets_page(request, *, form=None):
    can_set = can(request.user, Area.MERCHANT_ASSIGN, Action.CHANGE)
    if can_set:
        form = form or TargetForm()
    return render(request, "merchants/targets.html", {
        "progress": selectors.recruitment_target_progress(), "can_set": can_set, "form": form,
    }, status=400 if form is not None and form.errors else 200)


@role_required(Area.MERCHANTS)
def targets(request):
    return _targets_page(request)


@role_required(Area.MERCHANT_ASSIGN, Action.CHANGE)
@require_POST
def target_new(request):
    form = TargetForm(request.POST)
    if form.is_valid():
        try:
            recruitment_target_create(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Target set."))
            return redirect("merchants:targets")
    return _targets_page(request, form=form)


@role_required(Area.MERCHANT_ASSIGN, Action.CHANGE)
def target_edit(request, target_id: int):
    target = RecruitmentTarget.objects.filter(pk=target_id).first()
    if target is None:
        raise Http404(_("No such target."))
    form = TargetForm(request.POST or None, initial={
        "period_start": target.period_start, "period_end": target.period_end, "category": target.category,
        "city": target.city, "target": target.target})
    if request.method == "POST" and form.is_valid():
        try:
            recruitment_target_update(user=request.user, target_id=target_id, **form.cleaned_data)
        except ApplicationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Target saved."))
            return redirect("merchants:targets")
    return render(request, "merchants/form_page.html", {
        "title": _("Recruitment target"), "form": form, "back": "merchants:targets", "testid": "target-edit",
    }, status=400 if form.errors else 200)
