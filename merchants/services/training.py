"""The growth and training system: courses, sessions, enrolment, attendance and certification."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from merchants.models import Certification, Course, Enrolment, Merchant, Tier, TrainingSession
from merchants.selectors import merchant_manageable
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Action, Area, can


def _require_change(user) -> None:
    if not can(user, Area.MERCHANTS, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")


def _clean(obj, message: str) -> None:
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError(message, errors=exc.message_dict) from exc


def course_create(*, user, code: str, name: str, description: str = "", required_for: list[str] | None = None
                  ) -> Course:
    _require_change(user)
    required_for = sorted(set(required_for or []))
    if any(tier not in Tier.values for tier in required_for):
        raise ApplicationError(_("Unknown tier."), errors={"required_for": [_("Choose tiers from the list.")]})
    course = Course(code=(code or "").strip(), name=(name or "").strip(), description=description or "",
                    required_for=required_for)
    _clean(course, _("The course has invalid fields; see errors."))
    try:
        with transaction.atomic():
            course.save()
    except IntegrityError as exc:
        raise ApplicationError(_("A course with this code exists."), errors={"code": [_("This code is taken.")]}) \
            from exc
    return course


def course_update(*, user, course_id: int, name: str, description: str = "", required_for: list[str] | None = None
                  ) -> Course:
    """Rename a course, change its description or the tiers that must take it (its code stays)."""
    _require_change(user)
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise ApplicationError(_("No such course."), status_code=404, code="not_found")
    required_for = sorted(set(required_for or []))
    if any(tier not in Tier.values for tier in required_for):
        raise ApplicationError(_("Unknown tier."), errors={"required_for": [_("Choose tiers from the list.")]})
    course.name, course.description, course.required_for = (name or "").strip(), description or "", required_for
    _clean(course, _("The course has invalid fields; see errors."))
    course.save(update_fields=["name", "description", "required_for"])
    return course


def training_session_create(*, user, course: Course, starts_at, trainer: str, place: str = "", online: bool = False,
                            capacity: int = 30) -> TrainingSession:
    _require_change(user)
    if not online and not (place or "").strip():
        raise ApplicationError(_("Give a place or make the session online."), errors={"place": [_("Required.")]})
    session = TrainingSession(course=course, starts_at=starts_at, trainer=(trainer or "").strip(),
                              place=(place or "").strip(), online=online, capacity=capacity)
    _clean(session, _("The session has invalid fields; see errors."))
    session.save()
    return session


@transaction.atomic
def training_session_update(*, user, session_id: int, course: Course, starts_at, trainer: str, place: str = "",
                            online: bool = False, capacity: int = 30) -> TrainingSession:
    """Change a session's course, time, trainer, place or capacity (never below the merchants enrolled)."""
    _require_change(user)
    session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise ApplicationError(_("No such session."), status_code=404, code="not_found")
    if not online and not (place or "").strip():
        raise ApplicationError(_("Give a place or make the session online."), errors={"place": [_("Required.")]})
    enrolled = session.enrolments.count()
    if capacity < enrolled:
        raise ApplicationError(_("More merchants are enrolled than that."), errors={"capacity": [
            _("At least %(n)d: the merchants enrolled.") % {"n": enrolled}]})
    session.course, session.starts_at, session.trainer = course, starts_at, (trainer or "").strip()
    session.place, session.online, session.capacity = (place or "").strip(), online, capacity
    _clean(session, _("The session has invalid fields; see errors."))
    session.save()
    return session


@transaction.atomic
def training_enrol(*, user, session_id: int, merchant_ids: list[int]) -> int:
    """Enrol merchants the user manages in a session. A merchant already enrolled in the session's course (this
    session or another one it has not missed) is refused with a message. Returns how many were added."""
    _require_change(user)
    session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise ApplicationError(_("No such session."), status_code=404, code="not_found")
    allowed = set(merchant_manageable(user=user).filter(pk__in=merchant_ids).values_list("pk", flat=True))
    if allowed != set(merchant_ids):
        raise ApplicationError(_("You may enrol only merchants you manage."),
                               errors={"merchants": [_("Not yours: %(ids)s.") % {
                                   "ids": ", ".join(str(i) for i in sorted(set(merchant_ids) - allowed))}]},
                               status_code=403, code="permission_denied")
    # One place per merchant and course: a merchant enrolled in (or having attended) any session of this course is
    # refused, this session included; one absent from an earlier session may take a later one. The course row is
    # locked so two sessions of one course cannot enrol the same merchant at once.
    Course.objects.select_for_update().filter(pk=session.course_id).first()
    already = (Enrolment.objects.filter(session__course_id=session.course_id, merchant_id__in=merchant_ids)
               .filter(Q(session=session) | Q(status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.ATTENDED]))
               .select_related("merchant", "session").order_by("merchant__code", "session__starts_at"))
    if already:
        listed = ", ".join(f"{e.merchant.code} ({timezone.localtime(e.session.starts_at):%Y-%m-%d})" for e in already)
        raise ApplicationError(_("Some merchants are already enrolled in this course."),
                               errors={"merchants": [_("Already enrolled: %(list)s.") % {"list": listed}]},
                               code="already_enrolled")
    taken = set(session.enrolments.values_list("merchant_id", flat=True))
    new = list(dict.fromkeys(merchant_ids))
    if len(taken) + len(new) > session.capacity:
        free = max(session.capacity - len(taken), 0)
        raise ApplicationError(_("The session is full."), errors={"merchants": [
            ngettext("%(free)d place left.", "%(free)d places left.", free) % {"free": free}]})
    now = timezone.now()
    Enrolment.objects.bulk_create([Enrolment(session=session, merchant_id=m, enrolled_at=now) for m in new],
                                  ignore_conflicts=True)
    return len(new)


def required_courses_missing(*, merchant: Merchant) -> list[Course]:
    """The courses required for the merchant's tier it has not attended (2 queries; the curriculum is small)."""
    if not merchant.tier:
        return []
    attended = set(Enrolment.objects.filter(merchant=merchant, status=Enrolment.Status.ATTENDED)
                   .values_list("session__course_id", flat=True))
    return [course for course in Course.objects.all() if merchant.tier in course.required_for
            and course.pk not in attended]


GROWTH_LEVELS = (("new", gettext_lazy("no course yet")), ("learning", gettext_lazy("learning")),
                 ("certified", gettext_lazy("certified")), ("mentor", gettext_lazy("mentor")))


def growth_level(*, attended_courses: int, total_courses: int, certified: bool) -> str:
    """new (no course yet) → learning → certified (every course of its tier) → mentor (the whole curriculum)."""
    if certified and total_courses and attended_courses >= total_courses:
        return "mentor"
    if certified:
        return "certified"
    return "learning" if attended_courses else "new"


@transaction.atomic
def training_attendance_mark(*, user, session_id: int, attended: dict[int, bool]) -> list[Certification]:
    """Mark who came (merchant id → attended), for merchants the user manages. Merchants who now have every
    required course are certified."""
    _require_change(user)
    allowed = set(merchant_manageable(user=user).filter(pk__in=list(attended)).values_list("pk", flat=True))
    if allowed != set(attended):
        raise ApplicationError(_("You may mark only merchants you manage."),
                               errors={"attended": [_("Not yours: %(ids)s.") % {
                                   "ids": ", ".join(str(i) for i in sorted(set(attended) - allowed))}]},
                               status_code=403, code="permission_denied")
    enrolments = {e.merchant_id: e for e in Enrolment.objects.select_for_update().select_related("merchant")
                  .filter(session_id=session_id, merchant_id__in=list(attended))}
    unknown = sorted(set(attended) - set(enrolments))
    if unknown:
        raise ApplicationError(_("Some merchants are not enrolled in this session."),
                               errors={"attended": [_("Not enrolled: %(ids)s.") % {
                                   "ids": ", ".join(str(i) for i in unknown)}]})
    for merchant_id, came in attended.items():
        enrolment = enrolments[merchant_id]
        enrolment.status = Enrolment.Status.ATTENDED if came else Enrolment.Status.ABSENT
    Enrolment.objects.bulk_update(enrolments.values(), ["status"])
    certified = []
    for enrolment in enrolments.values():
        merchant = enrolment.merchant
        if enrolment.status == Enrolment.Status.ATTENDED and merchant.tier and not required_courses_missing(
                merchant=merchant):
            certification, created = Certification.objects.get_or_create(
                merchant=merchant, tier=merchant.tier, defaults={"certified_at": timezone.now()})
            if created:
                certified.append(certification)
    return certified
