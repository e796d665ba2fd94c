"""The rule form's side of the attributes catalog: name completion and constants checked against
the attribute's type.

Completion is an HTML <datalist> (no script, so the CSP's script-src stays as it is), rendered
once per page and shared by every rule row through its id.
"""

from dataclasses import dataclass, field

from django import forms
from django.utils.html import format_html, format_html_join

from rules.models import Attribute
from rules.selectors.attributes import tenant_attributes
from rules.services.attributes import rule_constant_error

DESCRIPTION_SHOWN = 60


@dataclass
class AttributeCatalogChoices:
    """One tenant's catalog for the rule forms of one page, loaded once for all of them."""

    tenant_id: int | None
    entries: dict[str, Attribute] = field(default_factory=dict)
    datalist_rendered: bool = False

    @property
    def datalist_id(self) -> str:
        return f"attribute-catalog-{self.tenant_id}"


def attribute_catalog_choices(tenant_id: int | None) -> AttributeCatalogChoices:
    entries = tenant_attributes(tenant_id) if tenant_id else {}
    return AttributeCatalogChoices(tenant_id=tenant_id, entries=entries)


def _option_label(attribute: Attribute) -> str:
    description = attribute.description.strip().splitlines()[0] if attribute.description else ""
    if len(description) > DESCRIPTION_SHOWN:
        description = description[: DESCRIPTION_SHOWN - 1] + "…"
    return f"{attribute.data_type}: {description}" if description else attribute.data_type


class AttributeNameInput(forms.TextInput):
    """The attribute input, completed from the catalog's names."""

    catalog: AttributeCatalogChoices | None = None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.catalog is not None and self.catalog.entries:
            context["widget"]["attrs"]["list"] = self.catalog.datalist_id
            context["widget"]["attrs"].setdefault("autocomplete", "off")
        return context

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        catalog = self.catalog
        if catalog is None or not catalog.entries or catalog.datalist_rendered:
            return html
        catalog.datalist_rendered = True
        options = format_html_join(
            "",
            '<option value="{}" label="{}"></option>',
            ((a.name, _option_label(a)) for a in catalog.entries.values()),
        )
        return format_html('{}<datalist id="{}">{}</datalist>', html, catalog.datalist_id, options)


def attribute_catalog_attach(form, catalog: AttributeCatalogChoices | None) -> None:
    """Complete the form's attribute input from `catalog` (and check constants against it)."""
    form.attribute_catalog = catalog
    if catalog is None or "attribute" not in form.fields:
        return
    widget = AttributeNameInput(attrs=dict(form.fields["attribute"].widget.attrs))
    widget.catalog = catalog
    form.fields["attribute"].widget = widget


def attribute_constant_check(form, cleaned: dict) -> None:
    """The constant's error against the attribute's type, on the constant field."""
    if "constant" in form.errors or not cleaned.get("attribute"):
        return
    catalog = getattr(form, "attribute_catalog", None)
    tenant_id = catalog.tenant_id if catalog is not None else None
    if tenant_id is None:
        ruleset = cleaned.get("ruleset") or getattr(form.instance, "ruleset", None)
        tenant_id = getattr(ruleset, "tenant_id", None)
    if tenant_id is None:
        return
    error = rule_constant_error(
        tenant_id=tenant_id,
        attribute=cleaned["attribute"],
        operator=cleaned.get("operator", ""),
        constant=cleaned.get("constant", ""),
        catalog=catalog.entries if catalog is not None and catalog.tenant_id else None,
    )
    if error:
        form.add_error("constant", error)
