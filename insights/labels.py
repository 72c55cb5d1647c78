"""What the platform names itself, shown in the reader's language (ops_platform/core/labels.py): a team's digest
dashboard and its tiles are made once, named in the site's language; when the name is still the one the platform
gave, it is shown in the reader's language; a name a person changed is shown as typed."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from ops_platform.core.labels import code_label, vocabulary_register

# The digest's tiles, keyed by the name stored (the site's language is English).
DIGEST_SECTION_NAMES = {
    "Goals": _("Goals"),
    "AARRR stages": _("AARRR stages"),
    "Channels": _("Channels"),
    "Customers by stage": _("Customers by stage"),
    "Merchants that moved a tier": _("Merchants that moved a tier"),
    "Launches and conclusions": _("Launches and conclusions"),
    "Alerts": _("Alerts"),
}
DIGEST_NAME = gettext_noop("%(team)s: the week")
DIGEST_DESCRIPTION = gettext_noop("The team's weekly digest, e-mailed every Monday.")


def labels_register() -> None:
    vocabulary_register("digest_section", DIGEST_SECTION_NAMES)


def insight_display_name(insight) -> str:
    """A platform-made insight (no owner) by its name in the reader's language; any other as typed."""
    return code_label("digest_section", insight.name) if insight.owner_id is None else insight.name


def _as_made(text_en: str, stored: str, **params) -> str:
    """``stored`` in the reader's language when it is still what the platform wrote in English, else as stored."""
    with translation.override("en"):
        made = gettext(text_en) % params if params else gettext(text_en)
    if stored != made:
        return stored
    return gettext(text_en) % params if params else gettext(text_en)


def dashboard_display_name(dashboard) -> str:
    if not dashboard.team_digest or dashboard.team is None:
        return dashboard.name
    return _as_made(DIGEST_NAME, dashboard.name, team=dashboard.team.name)


def dashboard_display_description(dashboard) -> str:
    if not dashboard.team_digest:
        return dashboard.description
    return _as_made(DIGEST_DESCRIPTION, dashboard.description)
