"""The lead's page for a member's action plan (dashboards/committee_actions.py), reached from
the member's committee pack: the lead's staff see, add, change and remove actions. Only the
lead of the network can reach it; a member's staff get a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dashboards.committee_actions import (
    MAX_ACTION,
    MAX_NOTE,
    MAX_OWNER,
    ActionError,
    ActionFields,
    change_action,
    ensure_action,
    led_member,
    member_actions,
    record_action,
    remove_action,
)
from dashboards.models import CommitteeActionStatus
from dashboards.reports.forms import DATE
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability
from tenants.models import Network, Organisation


class CommitteeActionForm(forms.Form):
    action = forms.CharField(label="Action", max_length=MAX_ACTION)
    owner = forms.CharField(label="Owner at the member (a name or a role)", max_length=MAX_OWNER)
    due_on = forms.DateField(label="Due", widget=DATE)
    status = forms.ChoiceField(
        label="Status", choices=CommitteeActionStatus.choices, initial=CommitteeActionStatus.OPEN
    )
    note = forms.CharField(
        label="Note", max_length=MAX_NOTE, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def fields_given(self) -> ActionFields:
        data = self.cleaned_data
        return ActionFields(
            data["action"], data["owner"], data["due_on"], data["status"], data["note"]
        )


def _url(network: Network, member: Organisation) -> str:
    return f"{reverse('reports:committee_actions')}?network={network.pk}&member={member.pk}"


def _page(
    request: HttpRequest,
    network: Network,
    member: Organisation,
    *,
    form: CommitteeActionForm | None = None,
    editing: tuple[int, CommitteeActionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    actions = member_actions(network, member, today=timezone.localdate())
    rows = [
        (
            action,
            editing[1]
            if editing and editing[0] == action.pk
            else CommitteeActionForm(
                initial={
                    "action": action.action,
                    "owner": action.owner,
                    "due_on": action.due_on,
                    "status": action.status,
                    "note": action.note,
                },
                prefix=f"a{action.pk}",
            ),
        )
        for action in actions
    ]
    context = {
        "network": network,
        "member": member,
        "rows": rows,
        "form": form or CommitteeActionForm(prefix="new"),
        "pack_url": (f"{reverse('reports:committee')}?network={network.pk}&provider={member.pk}"),
        "query": f"network={network.pk}&member={member.pk}",
    }
    return render(request, "reports/committee_actions.html", context, status=status)


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def committee_actions(request: HttpRequest) -> HttpResponse:
    """GET: the member's plan. POST: add an action to it."""
    network, member = led_member(
        request.tenant,
        request.GET.get("network") or request.POST.get("network"),
        request.GET.get("member") or request.POST.get("member"),
    )
    if request.method != "POST":
        return _page(request, network, member)
    form = CommitteeActionForm(request.POST, prefix="new")
    if not form.is_valid():
        return _page(request, network, member, form=form, status=400)
    try:
        record_action(network, member, form.fields_given(), actor=request.user, request=request)
    except ActionError as exc:
        form.add_error(None, str(exc))
        return _page(request, network, member, form=form, status=400)
    messages.success(request, f"Added the action to {member.name}'s plan.")
    return redirect(_url(network, member))


@require_POST
@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def committee_action_change(request: HttpRequest, pk: int) -> HttpResponse:
    network, member = led_member(
        request.tenant, request.POST.get("network"), request.POST.get("member")
    )
    ensure_action(network, member, pk)
    if request.POST.get("remove"):
        remove_action(network, member, pk, actor=request.user, request=request)
        messages.success(request, f"Removed the action from {member.name}'s plan.")
        return redirect(_url(network, member))
    form = CommitteeActionForm(request.POST, prefix=f"a{pk}")
    if not form.is_valid():
        return _page(request, network, member, editing=(pk, form), status=400)
    try:
        change_action(network, member, pk, form.fields_given(), actor=request.user, request=request)
    except ActionError as exc:
        form.add_error(None, str(exc))
        return _page(request, network, member, editing=(pk, form), status=400)
    messages.success(request, f"Saved the action in {member.name}'s plan.")
    return redirect(_url(network, member))
