"""The one form-rendering path (core.forms.ShopFormRenderer) and the one DomainError helper."""

from django import forms
from django.conf import settings
from django.forms.renderers import get_default_renderer

from core.errors import DomainError
from core.forms import ShopBoundField, ShopFormRenderer, add_domain_error


class SampleForm(forms.Form):
    name = forms.CharField(label="Name", help_text="As on the invoice.")
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])
    kinds = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)
    taxable = forms.BooleanField(required=False, label="Taxable")
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    amount = forms.DecimalField(required=False, widget=forms.NumberInput(attrs={"class": "money"}))


def test_every_form_renders_through_the_shop_renderer():
    assert settings.FORM_RENDERER == "core.forms.ShopFormRenderer"
    assert isinstance(get_default_renderer(), ShopFormRenderer)
    assert isinstance(SampleForm()["name"], ShopBoundField)


def test_widgets_get_their_bootstrap_class_in_one_place():
    form = SampleForm()
    assert 'class="form-control"' in str(form["name"])
    assert 'class="form-select"' in str(form["kind"])
    assert 'class="form-check-input"' in str(form["taxable"])
    assert form["kinds"].as_field_group().count('class="form-check-input"') == 2
    assert "class=" not in str(form["token"])
    assert 'class="money form-control"' in str(form["amount"])  # a widget's own class stays


def test_an_invalid_field_is_marked_and_its_error_shown_beside_it():
    form = SampleForm({"name": "", "kind": "a", "kinds": "a"})
    assert not form.is_valid()

    html = form["name"].as_field_group()

    assert '<label class="form-label required" for="id_name">Name</label>' in html
    assert "is-invalid" in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="id_name_helptext id_name_error"' in html
    assert '<div class="invalid-feedback d-block" id="id_name_error">' in html
    assert '<div class="form-text" id="id_name_helptext">As on the invoice.</div>' in html
    assert "is-invalid" not in form["kind"].as_field_group()


def test_a_checkbox_and_radios_render_as_bootstrap_checks():
    form = SampleForm()
    assert '<div class="form-check">' in form["taxable"].as_field_group()
    radios = form["kinds"].as_field_group()
    assert "<fieldset" in radios and "<legend" in radios
    assert radios.count("form-check form-check-inline") == 2


def test_add_domain_error_puts_a_field_error_on_its_field():
    form = SampleForm({"name": "x", "kind": "a", "kinds": "a"})
    assert form.is_valid()

    add_domain_error(form, DomainError("Too much.", field="amount"))

    assert form.errors["amount"] == ["Too much."]
    assert not form.non_field_errors()


def test_add_domain_error_without_a_matching_field_is_a_form_error():
    form = SampleForm({"name": "x", "kind": "a", "kinds": "a"})
    assert form.is_valid()

    add_domain_error(form, DomainError("Not billable."))
    add_domain_error(form, DomainError("Elsewhere.", field="not_on_this_form"))

    assert form.non_field_errors() == ["Not billable.", "Elsewhere."]
