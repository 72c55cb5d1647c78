"""Operations campaigns: create, invite merchants (logged in their relationship log), track their answers, and
measure participants during the campaign against the same length before it, from the events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors as analytics
from merchants.models import Campaign, CampaignInvite, Merchant, MerchantContact, Tier
from merchants.selectors import merchant_manageable
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import local_day_start
from ops_platform.core.roles import Action, Area, Role, can, roles_of

# invited → accepted / declined → took part (an accepted merchant that did take part)
INVITE_MOVES = {
    CampaignInvite.Status.INVITED: (CampaignInvite.Status.ACCEPTED, CampaignInvite.Status.DECLINED),
    CampaignInvite.Status.ACCEPTED: (CampaignInvite.Status.TOOK_PART, CampaignInvite.Status.DECLINED),
    CampaignInvite.Status.DECLINED: (CampaignInvite.Status.ACCEPTED,),
    CampaignInvite.Status.TOOK_PART: (),
}


def _require_change(user) -> None:
    if not can(user, Area.MERCHANTS, Action.CHANGE):
        raise ApplicationError(_("Your role does not allow this action."), status_code=403, code="permission_denied")


def campaign_create(*, user, name: str, kind: str, starts_on: date, ends_on: date, budget: Decimal | int = 0,
                    target_tiers: list[str] | None = None, target_categories: list[str] | None = None) -> Campaign:
    _require_change(user)
    campaign = Campaign(created_by=user)
    _fill(campaign, name=name, kind=kind, starts_on=starts_on, ends_on=ends_on, budget=budget,
          target_tiers=target_tiers, target_categories=target_categories)
    campaign.save()
    return campaign


def campaign_can_edit(*, user, campaign: Campaign) -> bool:
    """Its creator (while a merchant operator) or an administrator."""
    roles = roles_of(user)
    return Role.ADMIN in roles or (Role.MERCHANT_OPS in roles and campaign.created_by_id == user.pk)


@transaction.atomic
def campaign_update(*, user, campaign_id: int, name: str, kind: str, starts_on: date, ends_on: date,
                    budget: Decimal | int = 0, target_tiers: list[str] | None = None,
                    target_categories: list[str] | None = None) -> Campaign:
    """Change a campaign (its creator or an administrator). Invitations already sent stay."""
    _require_change(user)
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
    if not campaign_can_edit(user=user, campaign=campaign):
        raise ApplicationError(_("Only the campaign's creator or an administrator may change it."),
                               status_code=403, code="permission_denied")
    _fill(campaign, name=name, kind=kind, starts_on=starts_on, ends_on=ends_on, budget=budget,
          target_tiers=target_tiers, target_categories=target_categories)
    campaign.save()
    return campaign


def _fill(campaign: Campaign, *, name, kind, starts_on, ends_on, budget, target_tiers, target_categories) -> None:
    if ends_on < starts_on:
        raise ApplicationError(_("The period is empty."), errors={"ends_on": [_("Must be on or after the start.")]})
    target_tiers = sorted(set(target_tiers or []))
    if any(tier not in Tier.values for tier in target_tiers):
        raise ApplicationError(_("Unknown tier."), errors={"target_tiers": [_("Choose tiers from the list.")]})
    campaign.name, campaign.kind, campaign.starts_on, campaign.ends_on = (name or "").strip(), kind, starts_on, ends_on
    campaign.budget, campaign.target_tiers = budget, target_tiers
    campaign.target_categories = sorted({c.strip() for c in target_categories or [] if c.strip()})
    try:
        campaign.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        raise ApplicationError(_("The campaign has invalid fields; see errors."), errors=exc.message_dict) from exc


@transaction.atomic
def campaign_invite(*, user, campaign_id: int, merchant_ids: list[int] | None = None,
                    tiers: list[str] | None = None, categories: list[str] | None = None) -> int:
    """Invite merchants the user manages: those named, or else the live ones of ``tiers`` and ``categories``
    (when not given: the campaign's target tiers and categories; an empty list means any). Each invitation is also
    logged in the merchant's relationship log. Returns how many were invited (those already invited are skipped)."""
    _require_change(user)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
    merchants = merchant_manageable(user=user)
    if merchant_ids is not None:
        allowed = set(merchants.filter(pk__in=merchant_ids).values_list("pk", flat=True))
        if allowed != set(merchant_ids):
            raise ApplicationError(_("You may invite only merchants you manage."), status_code=403,
                                   code="permission_denied")
        chosen = allowed
    else:
        tiers = campaign.target_tiers if tiers is None else tiers
        categories = campaign.target_categories if categories is None else categories
        if any(tier not in Tier.values for tier in tiers):
            raise ApplicationError(_("Unknown tier."), errors={"tiers": [_("Choose tiers from the list.")]})
        merchants = merchants.filter(stage=Merchant.Stage.LIVE)
        if tiers:
            merchants = merchants.filter(tier__in=tiers)
        if categories:
            merchants = merchants.filter(category__in=categories)
        chosen = set(merchants.values_list("pk", flat=True))
    chosen -= set(campaign.invites.values_list("merchant_id", flat=True))
    now = timezone.now()
    CampaignInvite.objects.bulk_create([CampaignInvite(campaign=campaign, merchant_id=m, invited_by=user,
                                                       invited_at=now) for m in sorted(chosen)],
                                       ignore_conflicts=True)
    MerchantContact.objects.bulk_create([MerchantContact(
        merchant_id=m, kind=MerchantContact.Kind.CAMPAIGN_INVITE, notes=campaign.name, happened_at=now,
        logged_by=user) for m in sorted(chosen)])
    return len(chosen)


@transaction.atomic
def campaign_invite_respond(*, user, invite_id: int, status: str) -> CampaignInvite:
    invite = (CampaignInvite.objects.select_for_update(of=("self",)).select_related("merchant", "campaign")
              .filter(pk=invite_id).first())
    if invite is None:
        raise ApplicationError(_("No such invitation."), status_code=404, code="not_found")
    if not merchant_manageable(user=user).filter(pk=invite.merchant_id).exists():
        raise ApplicationError(_("Only the merchant's owner or an administrator may change it."), status_code=403,
                               code="permission_denied")
    if status not in INVITE_MOVES.get(invite.status, ()):
        raise ApplicationError(_("This answer is not possible now."), errors={"status": [
            _("Allowed: %(states)s.") % {"states": ", ".join(INVITE_MOVES[invite.status]) or "-"}]})
    if status == CampaignInvite.Status.TOOK_PART and invite.campaign.starts_on > timezone.localdate():
        raise ApplicationError(_("The campaign has not started yet."), errors={"status": [
            _("A merchant takes part from the campaign's first day, %(day)s.") % {
                "day": invite.campaign.starts_on.isoformat()}]})
    invite.status, invite.responded_at = status, timezone.now()
    invite.save(update_fields=["status", "responded_at"])
    return invite


def _local(day: date) -> datetime:
    return local_day_start(day)


def campaign_results(*, campaign: Campaign) -> dict:
    """Participants (took part) during the campaign against the same number of days just before it: orders, GMV,
    customers, per merchant and in total. Two grouped queries over the events."""
    participants = list(campaign.invites.filter(status=CampaignInvite.Status.TOOK_PART)
                        .select_related("merchant").order_by("merchant__code"))
    codes = [invite.merchant.code for invite in participants]
    days = (campaign.ends_on - campaign.starts_on).days + 1
    during_range = (_local(campaign.starts_on), _local(campaign.ends_on + timedelta(days=1)))
    before_range = (_local(campaign.starts_on - timedelta(days=days)), _local(campaign.starts_on))
    if codes:
        during = analytics.merchants_order_totals(merchants=codes, start=during_range[0], end=during_range[1])
        before = analytics.merchants_order_totals(merchants=codes, start=before_range[0], end=before_range[1])
    else:
        during, before = {}, {}
    empty = {"orders": 0, "gmv": 0.0, "customers": 0}
    rows = [{"merchant": invite.merchant, "during": during.get(invite.merchant.code, empty),
             "before": before.get(invite.merchant.code, empty)} for invite in participants]

    def total(side: str) -> dict:
        return {key: sum(row[side][key] for row in rows) for key in ("orders", "gmv", "customers")}

    totals = {"during": total("during"), "before": total("before")}
    before_gmv = totals["before"]["gmv"]
    totals["gmv_change"] = None if not before_gmv else (totals["during"]["gmv"] - before_gmv) / before_gmv
    return {"days": days, "rows": rows, "totals": totals,
            "before_from": campaign.starts_on - timedelta(days=days), "before_to": campaign.starts_on - timedelta(1)}
