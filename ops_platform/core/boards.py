"""Kanban boards: columns of cards that move by drag-and-drop or from the keyboard.

One shape for every board (the merchant pipeline, the ticket workflow): the app's selector gives each column's first
``BOARD_PAGE`` cards and its count in one windowed query, the app's view turns them into ``BoardColumn``/``BoardCard``
and renders ``includes/board.html`` (one partial, with the app's card body as ``card_template``); a column's next page
comes from ``board_column_response`` as JSON (the same card partial, rendered); ``static/js/board.js`` does the rest.

A move is not made here: the board posts to the app's own move API (``/api/v1/…/moves/``), which calls the same
service as the move form, with the same role and ownership checks and the same refusals (shown on the board).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django import forms
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

BOARD_PAGE = 30  # cards a column shows at first and loads at a time
MAX_OFFSET = 100_000


@dataclass
class BoardCard:
    obj: object  # the merchant or ticket, for the app's card body
    id: int
    testid: str
    label: str  # how the card is named in announcements ("M001 Noodle House")
    moves: list[tuple[str, str]] = field(default_factory=list)  # (column key, label) the viewer may move it to
    overdue: bool = False  # its date (next follow-up, due date) is before the local today
    classes: str = ""  # the app's CSS classes for the card (stale, priority)


@dataclass
class BoardColumn:
    key: str
    label: str
    count: int
    cards: list[BoardCard]
    more_url: str = ""  # the next page's URL, "" when every card is shown


@dataclass
class MoveField:
    """A field a move asks for before it is made (a lost merchant's reason, a rejected ticket's reason)."""

    name: str
    label: str
    kind: str = "text"  # "text", "textarea" or "select"
    options: list[tuple[str, str]] = field(default_factory=list)
    required: bool = True

    def as_json(self) -> dict:
        return {"name": self.name, "label": str(self.label), "kind": self.kind, "required": self.required,
                "options": [[str(value), str(label)] for value, label in self.options]}


def board_config(*, move_url: str, move_field: str, moves: dict[str, Sequence[tuple[str, str]]],
                 needs: dict[str, Sequence[MoveField]]) -> dict:
    """What board.js needs (given to it with json_script): where a move goes (``move_url`` with ``0`` for the id),
    the name of the target field in the move API, the viewer's moves from each column (to rebuild a moved card's
    menu), the fields each target column asks for, and the board's words."""
    return {
        "move_url": move_url, "move_field": move_field,
        "moves": {key: [[str(value), str(label)] for value, label in items] for key, items in moves.items()},
        "needs": {key: [item.as_json() for item in items] for key, items in needs.items()},
        "text": {
            "moved": _("%(card)s moved to %(column)s."), "refused": _("%(card)s was not moved: %(reason)s"),
            "failed": _("The move could not be saved. Check your connection and try again."),
            "loading": _("Loading…"), "load_failed": _("The next cards could not be loaded."),
            "moving": _("Moving %(card)s to %(column)s…"), "dialog_title": _("Move %(card)s to %(column)s"),
            "stays": _("%(card)s was not moved."), "required": _("Required."),
        },
    }


class BoardColumnForm(forms.Form):
    """A column's next page: which column, from which card."""

    column = forms.ChoiceField(choices=())
    offset = forms.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False)
    mine = forms.BooleanField(required=False)

    def __init__(self, data, *, columns: Sequence[tuple[str, str]], column_field: str):
        data = data.copy()
        if column_field != "column":
            data.setlist("column", data.getlist(column_field))
        super().__init__(data)
        self.column_field = column_field
        self.fields["column"].choices = list(columns)

    def field_errors(self) -> dict[str, list[str]]:
        return {self.column_field if name == "column" else name: list(errors) for name, errors in self.errors.items()}


def board_bad_input(form: BoardColumnForm) -> JsonResponse:
    return JsonResponse({"message": _("The board could not load these cards; see errors."), "code": "invalid",
                         "errors": form.field_errors()}, status=400)


def board_column_response(request, *, column: BoardColumn, card_template: str) -> JsonResponse:
    """A column's page of cards as JSON: ``{"html", "count", "shown", "next"}`` (``next`` is "" on the last page)."""
    html = render_to_string("includes/board_cards.html", {"cards": column.cards, "card_template": card_template,
                                                          "column": column}, request=request)
    return JsonResponse({"html": html, "count": column.count, "shown": len(column.cards), "next": column.more_url})


def next_page_url(base: str, *, column_field: str, key: str, offset: int, count: int, extra: str = "") -> str:
    """The URL of a column's next page, or "" when ``offset`` is past its last card."""
    if offset >= count:
        return ""
    return f"{base}?{column_field}={key}&offset={offset}{extra}"
