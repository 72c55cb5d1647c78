"""A ticket notification's words, in the reader's language, from its code and parameters (issue 17).

A notification used to store its sentence in the language of the person who acted, so a Chinese PM read what an
English colleague's click had written. It now stores ``code`` and ``params`` (keys, names, status codes: data, never
words) and is worded at render time — on the page in the reader's language, in the e-mail in the recipient's.
``Notification.message`` keeps the sentence in the site's language for scripts and for rows made before this."""

from __future__ import annotations

from django.utils.translation import gettext as _

FILED = "filed"
CHANGED = "changed"
MOVED = "moved"
MENTIONED = "mentioned"
COMMENTED = "commented"
ITERATED = "iterated"
PLAN_READY = "plan_ready"
PLAN_REVIEW = "plan_review"  # to the reviewers: "awaits your review"
PLAN_REVIEWED = "plan_reviewed"
FEEDBACK_MORE = "feedback_more"


def _status(code: str) -> str:
    from products.models import Ticket

    try:
        return str(Ticket.Status(code).label)
    except ValueError:
        return code


def _plan_status(code: str) -> str:
    from products.models import TrackingPlan

    try:
        return str(TrackingPlan.Status(code).label)
    except ValueError:
        return code


def _fields(names: list[str]) -> str:
    from products.models import Ticket

    labels = []
    for name in names:
        try:
            labels.append(str(Ticket._meta.get_field(name).verbose_name))
        except Exception:  # a field since removed: its name
            labels.append(name)
    return _(", ").join(labels)


def notification_text(code: str, params: dict) -> str:
    """The sentence for ``code`` in the active language; "" for an unknown code (the caller falls back)."""
    p = params or {}
    if code == FILED:
        return _("%(key)s was filed for you: %(title)s") % {"key": p.get("key", ""), "title": p.get("title", "")}
    if code == CHANGED:
        return _("%(who)s changed %(fields)s on %(key)s") % {
            "who": p.get("who", ""), "fields": _fields(p.get("fields", [])), "key": p.get("key", "")}
    if code == MOVED:
        return _("%(who)s moved %(key)s from %(from)s to %(to)s") % {
            "who": p.get("who", ""), "key": p.get("key", ""), "from": _status(p.get("from", "")),
            "to": _status(p.get("to", ""))}
    if code == MENTIONED:
        return _("%(who)s mentioned you on %(key)s") % {"who": p.get("who", ""), "key": p.get("key", "")}
    if code == COMMENTED:
        return _("%(who)s commented on %(key)s") % {"who": p.get("who", ""), "key": p.get("key", "")}
    if code == ITERATED:
        return _("%(who)s started %(child)s as the next iteration of %(key)s") % {
            "who": p.get("who", ""), "child": p.get("child", ""), "key": p.get("key", "")}
    if code == PLAN_REVIEW:
        return _("Tracking plan v%(v)s of %(key)s awaits your review: %(title)s") % {
            "v": p.get("v", ""), "key": p.get("key", ""), "title": p.get("title", "")}
    if code == PLAN_READY:
        return _("Tracking plan v%(v)s of %(key)s is ready for review") % {"v": p.get("v", ""),
                                                                           "key": p.get("key", "")}
    if code == PLAN_REVIEWED:
        return _("Tracking plan v%(v)s of %(key)s: %(status)s") % {
            "v": p.get("v", ""), "key": p.get("key", ""), "status": _plan_status(p.get("status", ""))}
    if code == FEEDBACK_MORE:
        return _("%(n)d more asked for %(key)s (%(total)d in all)") % {
            "n": int(p.get("n", 0)), "key": p.get("key", ""), "total": int(p.get("total", 0))}
    return ""
