"""A network's You said, we did on the hub (dashboards/reports/network_you_said_we_did.py):
the public page, the same list for a frame on the lead's own website, and the script tag
that puts that frame where it stands.

Only the sites the lead lists for its widget (`Organisation.embed_hosts`, workspace →
Widget) may frame the embed, as for the widget itself (config/security.py
`allow_framing_by`); with none listed, nobody may. No page here needs a sign-in.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from config.security import allow_framing_by
from dashboards.reports.network_you_said_we_did import (
    MAX_DAYS,
    default_period,
    network_changes_made,
    public_network,
)
from tenants.models import Network

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """`?start=YYYY-MM-DD&end=YYYY-MM-DD`, each optional: the last two months by default."""

    start = forms.DateField(label=_("From"), required=False, widget=DATE)
    end = forms.DateField(label=_("To"), required=False, widget=DATE)

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if self.errors:
            return data
        default_start, default_end = default_period(data.get("end") or self.today)
        end = data.get("end") or default_end
        start = data.get("start") or default_start
        if end > self.today:
            raise forms.ValidationError(_("The period cannot end after today."))
        if start > end:
            raise forms.ValidationError(_("The period must start on or before its end."))
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(_("Choose a period of at most a year."))
        data["start"], data["end"] = start, end
        return data


def _network(slug: str) -> Network:
    network = public_network(slug)
    if network is None:
        raise Http404("No such network.")
    return network


def _render(request: HttpRequest, network: Network, template: str) -> HttpResponse:
    # Bound even when empty: both fields are optional, and clean() fills in the defaults.
    form = PeriodForm(request.GET, today=timezone.localdate())
    context: dict[str, object] = {"network": network, "form": form}
    if not form.is_valid():
        return render(request, template, context, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    context.update(start=start, end=end, members=network_changes_made(network, start, end))
    return render(request, template, context)


@require_safe
def network_you_said_we_did_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render(request, _network(slug), "hub/network_you_said_we_did.html")


def _lead_embed_hosts(request: HttpRequest) -> list[str]:
    network = getattr(request, "embedded_network", None)
    return list(network.lead.embed_hosts) if network else []


@require_safe
@allow_framing_by(_lead_embed_hosts)
def network_you_said_we_did_embed(request: HttpRequest, slug: str) -> HttpResponse:
    network = _network(slug)
    request.embedded_network = network
    return _render(request, network, "hub/network_you_said_we_did_embed.html")


@require_safe
def network_you_said_we_did_script(request: HttpRequest, slug: str) -> HttpResponse:
    """A script tag's target: it puts the embed's iframe where the tag stands."""
    network = _network(slug)
    src = request.build_absolute_uri(
        reverse("hub:network_you_said_we_did_embed", args=[network.slug])
    )
    response = render(
        request,
        "hub/network_you_said_we_did.js",
        {"src": src, "title": gettext("You said, we did: %(name)s") % {"name": network.name}},
        content_type="text/javascript",
    )
    response["Cache-Control"] = "public, max-age=300"
    return response
