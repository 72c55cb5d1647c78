"""A service's refusal on a page's form (``core.exceptions.form_add_errors``): under its fields, and never silent."""

from __future__ import annotations

from django import forms

from ops_platform.core.exceptions import ApplicationError, form_add_errors


class _Form(forms.Form):
    name = forms.CharField()


def _bound() -> _Form:
    form = _Form({"name": "x"})
    assert form.is_valid()
    return form


def test_field_messages_go_under_their_field_and_others_to_the_form():
    form = _bound()
    form_add_errors(form, ApplicationError("Bad.", errors={"name": ["Taken."], "team": "Not yours."}))

    assert form.errors == {"name": ["Taken."], "__all__": ["Not yours."]}


def test_a_refusal_naming_no_field_is_the_forms_own_error_unless_the_page_says_it_elsewhere():
    said, elsewhere = _bound(), _bound()

    form_add_errors(said, ApplicationError("The ticket was changed by someone else."))
    form_add_errors(elsewhere, ApplicationError("Too slow."), message=False)

    assert said.non_field_errors() == ["The ticket was changed by someone else."]
    assert elsewhere.errors == {}
