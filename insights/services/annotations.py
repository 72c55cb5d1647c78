"""Annotations: a note on a date, drawn on every time chart beside the launch markers. Anyone who may read
analytics adds one; its author or an administrator deletes it."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from insights.models import Annotation
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role, roles_of


def annotation_create(*, user, day: date, text: str) -> Annotation:
    annotation = Annotation(date=day, text=(text or "").strip(), created_by=user)
    annotation.full_clean()
    annotation.save()
    return annotation


def annotation_delete(*, user, annotation: Annotation) -> None:
    if Role.ADMIN not in roles_of(user) and annotation.created_by_id != user.pk:
        raise ApplicationError(_("Only its author or an administrator deletes an annotation."), status_code=403,
                               code="permission_denied")
    annotation.delete()
