"""Differentiated operations: a playbook of actions and resources per tier, and each merchant's next best
actions (its diagnosis first, then its tier's playbook)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from merchants.models import Tier

PLAYBOOKS = {
    Tier.CORE: [
        _("Give the best resources: home-page slots and priority in big campaigns."),
        _("Quarterly business review with the owner; co-plan new products."),
        _("Invite to the mentor programme to coach potential merchants."),
    ],
    Tier.POTENTIAL: [
        _("Run a campaign aimed at lifting it into core (traffic boost, coupons)."),
        _("Finish the required courses; certify."),
        _("Weekly check-in on orders and rating."),
    ],
    Tier.ORDINARY: [
        _("Standard service: monthly contact and the self-service courses."),
        _("Suggest one improvement from its diagnosis each month."),
    ],
    Tier.AT_RISK: [
        _("Visit within a week: find the cause of the drop."),
        _("Agree on a recovery plan with a date; follow up weekly."),
        _("If no recovery after the rotate-out period, pause or replace it."),
    ],
}


def next_best_actions(*, tier: str, problems: list, limit: int = 4) -> list[str]:
    """The merchant's problems' advice first, then its tier's playbook, without repeats, at most ``limit``."""
    actions = [str(problem.advice) for problem in problems]
    actions += [str(action) for action in PLAYBOOKS.get(tier, PLAYBOOKS[Tier.ORDINARY])]
    seen, result = set(), []
    for action in actions:
        if action not in seen:
            seen.add(action)
            result.append(action)
    return result[:limit]
