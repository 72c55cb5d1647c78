"""Ticket lists as files (CSV or XLSX): the requirements list with its filters, and "my tickets", registered in the
one registry of downloadable reports (``ops_platform/core/report_files.py``). Read by the list page's own filter form
and computed by the selector the page calls (``selectors.ticket_list``), so the file holds the page's tickets — all
of them, not the page's first 50. Codes (status, kind, stage) sit beside their names in the reader's language; times
are in TIME_ZONE; titles written by anyone are neutralised by the writer."""

from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.utils.translation import gettext_lazy as _

from ops_platform.core.exports import DATE, DATETIME, HEADER_BOTH, INT, Column, ExportTable, Report
from ops_platform.core.report_files import parsed_arguments, query_dict, report_file_register
from ops_platform.core.reports import form_parser
from ops_platform.core.roles import Area
from products import selectors
from products.forms import TicketFilterForm

CHUNK = 2000
parse_filters = form_parser(TicketFilterForm, TicketFilterForm.selector_filters)
FILTERS = tuple(TicketFilterForm.base_fields)
TRUE = ("1", "true", "yes", "on")

TICKET_COLUMNS = [
    Column("key", _("Key")), Column("title", _("Title"), width=48), Column("status", _("Status")),
    Column("status_label", _("Status (name)")), Column("kind", _("Kind")), Column("kind_label", _("Kind (name)")),
    Column("priority", _("Priority"), INT), Column("priority_label", _("Priority (name)")),
    Column("aarrr_stage", _("AARRR stage")), Column("owner_pm", _("Owner PM")), Column("assignees", _("Assignees")),
    Column("requester", _("Requester")), Column("feedback_count", _("Asked for by"), INT),
    Column("labels", _("Labels")), Column("due_date", _("Due date"), DATE),
    Column("created_at", _("Created at"), DATETIME), Column("updated_at", _("Updated at"), DATETIME),
    Column("launched_at", _("Launched at"), DATETIME), Column("outcome", _("Outcome")),
]


def ticket_params(data, *, user=None) -> dict:
    """The list's filters checked by its form (a 400 with the fields' errors); ``mine`` ("my tickets") becomes the
    reader's own id, never one a caller names. Through the download API, whose ``kind`` names the report, the list's
    ``kind`` filter is ``ticket_kind``."""
    query = query_dict(data)
    if "ticket_kind" in query:  # the download API's name for the list's ``kind`` (its own ``kind`` names the report)
        query.setlist("kind", query.getlist("ticket_kind"))
        del query["ticket_kind"]
    parse_filters(query)
    params = {key: query.getlist(key) for key in FILTERS if key in query}
    if (query.get("mine") or "").lower() in TRUE and user is not None:
        params["mine"] = [str(user.pk)]
    return params


def _username(user) -> str | None:
    return user.username if user else None


def _rows(tickets) -> Iterator[dict]:
    for ticket in tickets.iterator(chunk_size=CHUNK):  # the assignees prefetched per chunk
        yield {"key": ticket.key, "title": ticket.title, "status": ticket.status,
               "status_label": ticket.get_status_display(), "kind": ticket.kind,
               "kind_label": ticket.get_kind_display(), "priority": ticket.priority,
               "priority_label": ticket.get_priority_display(), "aarrr_stage": ticket.aarrr_stage,
               "owner_pm": _username(ticket.owner_pm),
               "assignees": ", ".join(sorted(user.username for user in ticket.assignees.all())),
               "requester": _username(ticket.requester), "feedback_count": ticket.feedback_count,
               "labels": ", ".join(str(label) for label in ticket.labels or []), "due_date": ticket.due_date,
               "created_at": ticket.created_at, "updated_at": ticket.updated_at, "launched_at": ticket.launched_at,
               "outcome": ticket.outcome}


def _ticket_fields() -> dict:
    """The ticket list's filters, and ``mine`` of the "my tickets" page (its URL sets it), for the exports page."""
    return {**TicketFilterForm.base_fields, "mine": forms.BooleanField(label=_("My tickets"), required=False)}


@report_file_register("tickets", area=Area.TICKETS, params=ticket_params, large=True, label=_("Requirements"),
                      fields=_ticket_fields)
def tickets_report(params: dict) -> Report:
    mine = (params.get("mine") or [None])[0]
    tickets = selectors.ticket_list(**parsed_arguments(parse_filters, params), mine=int(mine) if mine else None)
    title = _("My tickets") if mine else _("Requirements")
    return Report(name="my_tickets" if mine else "tickets", header=HEADER_BOTH, tables=[
        ExportTable(title=title, columns=TICKET_COLUMNS, rows=_rows(tickets), total=tickets.count())])
