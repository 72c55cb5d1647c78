"""Writes on merchants: create, edit, move along the pipeline (every move recorded), reassign, targets.

Who may change a merchant: its owner if they hold merchant_ops, or an admin (``merchant_can_manage``).
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import STAGE_DATE_FIELDS, LossReason, Merchant, MerchantStageMove, RecruitmentTarget
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Action, Area, Role, can, roles_of

S = Merchant.Stage
# The pipeline: forward one step at a time, back one step, pause a signed or live merchant, resume, terminate
# (lost) from anywhere but terminated, and a terminated one may be reopened as a lead.
STAGE_MOVES: dict[str, tuple[str, ...]] = {
    S.LEAD: (S.CONTACTED, S.TERMINATED),
    S.CONTACTED: (S.NEGOTIATING, S.LEAD, S.TERMINATED),
    S.NEGOTIATING: (S.SIGNED, S.CONTACTED, S.TERMINATED),
    S.SIGNED: (S.LIVE, S.PAUSED, S.TERMINATED),
    S.LIVE: (S.PAUSED, S.TERMINATED),
    S.PAUSED: (S.LIVE, S.TERMINATED),
    S.TERMINATED: (S.LEAD,),
}
EDITABLE_FIELDS = ("name", "category", "city", "district", "address", "contact_person", "contact_phone", "source",
                   "tags", "expected_monthly_gmv")
NUMBER_FIELDS = ("expected_monthly_gmv",)  # empty means unknown (None); full_clean parses and bounds the rest
MAX_TAGS = 20


def merchant_can_manage(*, user, merchant: Merchant) -> bool:
    """Admins manage every merchant; merchant operators manage the merchants they own."""
    roles = roles_of(user)
    if Role.ADMIN in roles:
        return True
    return Role.MERCHANT_OPS in roles and merchant.owner_id == user.pk


def merchant_moves_for(*, user, merchant: Merchant) -> tuple[str, ...]:
    """The stages ``user`` may move ``merchant`` to (what ``merchant_move_stage`` accepts, reasons aside)."""
    return STAGE_MOVES.get(merchant.stage, ()) if merchant_can_manage(user=user, merchant=merchant) else ()


def _require_manage(user, merchant: Merchant) -> None:
    if not merchant_can_manage(user=user, merchant=merchant):
        raise ApplicationError(_("Only the merchant's owner or an administrator may change it."),
                               status_code=403, code="permission_denied")


def _clean_tags(tags) -> list[str]:
    if tags in (None, ""):
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ApplicationError(_("Tags must be a list of words."), errors={"tags": [_("Give a list of words.")]})
    cleaned = sorted({tag.strip()[:40] for tag in tags if tag.strip()})
    if len(cleaned) > MAX_TAGS:
        raise ApplicationError(_("Too many tags."), errors={"tags": [_("At most 20 tags.")]})
    return cleaned


def _field_value(field: str, value):
    """An editable field's value as the model takes it: tags cleaned, numbers as given ("" → None), text stripped."""
    if field == "tags":
        return _clean_tags(value)
    if field in NUMBER_FIELDS:
        return None if value is None or str(value).strip() == "" else (value.strip() if isinstance(value, str)
                                                                       else value)
    return (value or "").strip()


def _full_clean(merchant: Merchant) -> None:
    try:
        merchant.full_clean(exclude=["owner", "loss_reason"], validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError(_("The merchant has invalid fields; see errors."), errors=exc.message_dict) from exc


def merchant_build(*, code: str, name: str, category: str, city: str, owner=None, stage: str = S.LEAD,
                   **fields) -> Merchant:
    """An unsaved, validated merchant (used by create and by the import, which saves in bulk)."""
    now = timezone.now()
    merchant = Merchant(code=(code or "").strip(), name=(name or "").strip(), category=(category or "").strip(),
                        city=(city or "").strip(), owner=owner, stage=stage, stage_changed_at=now)
    for field, value in fields.items():
        if field not in EDITABLE_FIELDS:
            raise ApplicationError(_("Unknown field."), errors={field: [_("Not a merchant field.")]})
        setattr(merchant, field, _field_value(field, value))
    if stage not in S.values:
        raise ApplicationError(_("Unknown stage."), errors={"stage": [_("Not a pipeline stage.")]})
    if stage in STAGE_DATE_FIELDS:
        setattr(merchant, STAGE_DATE_FIELDS[stage], now)
    _full_clean(merchant)
    return merchant


@transaction.atomic
def merchant_create(*, user, code: str, name: str, category: str, city: str, owner=None, **fields) -> Merchant:
    """A new lead. A merchant operator creating it owns it; an admin may name the owner."""
    if not can(user, Area.MERCHANTS, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")
    if owner is not None and owner != user and not can(user, Area.MERCHANT_ASSIGN, Action.CHANGE):
        raise ApplicationError(_("Only an administrator may assign a merchant to someone else."),
                               errors={"owner": [_("Leave empty to own it yourself.")]}, status_code=403,
                               code="permission_denied")
    if owner is None and Role.MERCHANT_OPS in roles_of(user):
        owner = user
    if Merchant.objects.filter(code=(code or "").strip()).exists():
        raise ApplicationError(_("A merchant with this code exists."), errors={"code": [_("This code is taken.")]})
    merchant = merchant_build(code=code, name=name, category=category, city=city, owner=owner, **fields)
    try:
        with transaction.atomic():
            merchant.save()
    except IntegrityError as exc:
        raise ApplicationError(_("A merchant with this code exists."),
                               errors={"code": [_("This code is taken.")]}) from exc
    MerchantStageMove.objects.create(merchant=merchant, from_stage="", to_stage=merchant.stage, moved_by=user,
                                     moved_at=merchant.stage_changed_at)
    return merchant


def _locked(merchant_id: int) -> Merchant:
    merchant = Merchant.objects.select_for_update().filter(pk=merchant_id).first()
    if merchant is None:
        raise ApplicationError(_("No such merchant."), status_code=404, code="not_found")
    return merchant


@transaction.atomic
def merchant_update(*, user, merchant_id: int, **fields) -> Merchant:
    merchant = _locked(merchant_id)
    _require_manage(user, merchant)
    for field, value in fields.items():
        if field not in EDITABLE_FIELDS:
            raise ApplicationError(_("Unknown field."), errors={field: [_("Not a merchant field.")]})
        setattr(merchant, field, _field_value(field, value))
    _full_clean(merchant)
    merchant.save()
    return merchant


@transaction.atomic
def merchant_move_stage(*, user, merchant_id: int, to_stage: str, reason: LossReason | int | None = None,
                        note: str = "", at=None) -> MerchantStageMove:
    """Move a merchant along the pipeline. Terminating needs a reason from the managed list; the move is recorded."""
    merchant = _locked(merchant_id)
    _require_manage(user, merchant)
    to_stage = str(to_stage)
    if to_stage not in STAGE_MOVES.get(merchant.stage, ()):
        raise ApplicationError(
            _("A merchant cannot move from this stage to that one."),
            errors={"to_stage": [_("Allowed: %(stages)s.") % {"stages": ", ".join(STAGE_MOVES[merchant.stage])}]},
            code="invalid_move")
    reason_obj = None
    if to_stage == S.TERMINATED:
        if isinstance(reason, int | str) and str(reason).isdigit():
            reason_obj = LossReason.objects.filter(pk=int(reason), active=True).first()
        elif isinstance(reason, LossReason):
            reason_obj = reason if reason.active else None
        if reason_obj is None:
            raise ApplicationError(_("Terminating a merchant needs a reason from the list."),
                                   errors={"reason": [_("Choose a reason.")]})
        if not (note or "").strip():
            raise ApplicationError(_("Say in a few words what happened."), errors={"note": [_("Required.")]})
    at = at or timezone.now()
    move = MerchantStageMove.objects.create(merchant=merchant, from_stage=merchant.stage, to_stage=to_stage,
                                            moved_by=user, moved_at=at, reason=reason_obj,
                                            note=(note or "").strip()[:2000])
    merchant.stage = to_stage
    merchant.stage_changed_at = at
    field = STAGE_DATE_FIELDS.get(to_stage)
    if field and (getattr(merchant, field) is None or to_stage in (S.PAUSED, S.TERMINATED)):
        setattr(merchant, field, at)
    if to_stage == S.TERMINATED:
        merchant.loss_reason, merchant.loss_note = reason_obj, move.note
    elif merchant.loss_reason_id:
        merchant.loss_reason, merchant.loss_note = None, ""
    merchant.save()
    return move


@transaction.atomic
def merchant_reassign(*, user, merchant_ids: list[int], owner) -> int:
    """The lead (admin) gives merchants to another operator. Returns how many changed owner."""
    if not can(user, Area.MERCHANT_ASSIGN, Action.CHANGE):
        raise ApplicationError(_("Only an administrator may reassign merchants."), status_code=403,
                               code="permission_denied")
    if owner is not None and Role.MERCHANT_OPS not in roles_of(owner):
        raise ApplicationError(_("The new owner must be a merchant operator."),
                               errors={"owner": [_("Not a merchant operator.")]})
    return Merchant.objects.filter(pk__in=merchant_ids).exclude(owner=owner).update(owner=owner)


def recruitment_target_create(*, user, period_start: date, period_end: date, target: int, category: str = "",
                              city: str = "") -> RecruitmentTarget:
    _require_target_setter(user)
    return _recruitment_target_save(RecruitmentTarget(created_by=user), period_start=period_start,
                                    period_end=period_end, target=target, category=category, city=city)


def recruitment_target_update(*, user, target_id: int, period_start: date, period_end: date, target: int,
                              category: str = "", city: str = "") -> RecruitmentTarget:
    _require_target_setter(user)
    item = RecruitmentTarget.objects.filter(pk=target_id).first()
    if item is None:
        raise ApplicationError(_("No such target."), status_code=404, code="not_found")
    return _recruitment_target_save(item, period_start=period_start, period_end=period_end, target=target,
                                    category=category, city=city)


def _require_target_setter(user) -> None:
    if not can(user, Area.MERCHANT_ASSIGN, Action.CHANGE):
        raise ApplicationError(_("Only an administrator sets recruitment targets."), status_code=403,
                               code="permission_denied")


def _recruitment_target_save(item: RecruitmentTarget, *, period_start: date, period_end: date, target: int,
                             category: str, city: str) -> RecruitmentTarget:
    """Validate and store a new or changed target (what create and update share)."""
    if period_end < period_start:
        raise ApplicationError(_("The period is empty."), errors={"period_end": [_("Must be on or after the start.")]})
    item.period_start, item.period_end, item.target = period_start, period_end, target
    item.category, item.city = (category or "").strip(), (city or "").strip()
    try:
        item.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        raise ApplicationError(_("The target has invalid fields; see errors."), errors=exc.message_dict) from exc
    item.save()
    return item
