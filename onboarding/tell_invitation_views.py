"""Workspace pages for invitations to tell (onboarding/tell_invitations.py): responders and
administrators send a batch from a CSV file or one at a time; anyone opts out on the public
page the invitations link to."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from feedback.service_limits import limited_services
from onboarding.models import InvitationBatch, InvitationChannel, InvitationSource
from onboarding.tell_invitations import (
    InvitationError,
    InvitationFileError,
    Recipients,
    RowProblem,
    current_organisation,
    is_opt_out_link,
    listings_for,
    normalise_email,
    normalise_mobile,
    opt_out,
    opt_out_url,
    read_csv,
    send_invitations,
)
from tenants import ratelimit
from tenants.accounts.access import role_required
from tenants.accounts.models import Role

# Problems listed on the page, at most; the rest are counted.
PROBLEMS_SHOWN = 50


class _ServiceForm(forms.Form):
    service = forms.TypedChoiceField(
        coerce=int,
        label="Which service?",
        error_messages={"required": "Choose the service the invitations are about."},
    )

    def __init__(self, *args: object, listings: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.listings = {listing.pk: listing for listing in listings}
        self.fields["service"].choices = [("", "Choose a service")] + [
            (listing.pk, f"{listing.name}, {listing.site_name}") for listing in listings
        ]

    def listing(self) -> object:
        return self.listings[self.cleaned_data["service"]]


class UploadForm(_ServiceForm):
    channel = forms.ChoiceField(
        choices=InvitationChannel.choices,
        label="Send by",
        initial=InvitationChannel.EMAIL,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label="CSV file",
        error_messages={
            "required": "Choose a CSV file of addresses or mobile numbers.",
            "empty": "The file is empty: it has no addresses or numbers in it.",
        },
    )


class OneForm(_ServiceForm):
    address = forms.CharField(
        label="Email address or UK mobile number",
        max_length=254,
        error_messages={"required": "Enter an email address or a mobile number."},
    )

    def clean_address(self) -> tuple[str, str]:
        value = self.cleaned_data["address"]
        if "@" in value:
            address, channel = normalise_email(value), InvitationChannel.EMAIL
        else:
            address, channel = normalise_mobile(value), InvitationChannel.SMS
        if address is None:
            raise forms.ValidationError(
                "Enter an email address, or a UK mobile number such as 07700 900123."
            )
        return address, channel


class OptOutForm(forms.Form):
    address = forms.CharField(
        label="Email address or mobile number",
        max_length=254,
        error_messages={"required": "Enter the email address or mobile number."},
    )


def _page(
    request: HttpRequest,
    listings: list,
    *,
    upload_form: UploadForm | None = None,
    one_form: OneForm | None = None,
    problems: list[RowProblem] = (),  # type: ignore[assignment]
    status: int = 200,
) -> HttpResponse:
    shown = [str(p) for p in problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        shown.append(f"… and {len(problems) - PROBLEMS_SHOWN} more rows.")
    return render(
        request,
        "onboarding/tell_invitations.html",
        {
            "upload_form": upload_form or UploadForm(listings=listings),
            "one_form": one_form or OneForm(listings=listings),
            "problems": shown,
            "batches": _batches(request)[:50],
            "batch_max": settings.INVITATION_BATCH_MAX,
            "max_kb": settings.INVITATION_CSV_MAX_BYTES // 1000,
            "opt_out_url": opt_out_url(current_organisation()),
        },
        status=status,
    )


def _batches(request: HttpRequest) -> QuerySet[InvitationBatch]:
    """The batches sent: all, or those about a limited person's services."""
    batches = InvitationBatch.objects.select_related("created_by")
    within = limited_services(request.user)
    return batches if within is None else batches.filter(service_id__in=within)


def _sent_message(request: HttpRequest, batch: InvitationBatch, problems: list) -> None:
    text = f"{batch.sent_count} invitation{'s' if batch.sent_count != 1 else ''} sent"
    if batch.opted_out_count:
        text += f"; {batch.opted_out_count} skipped, as they opted out"
    if batch.duplicate_count:
        plural = "s" if batch.duplicate_count != 1 else ""
        text += f"; {batch.duplicate_count} repeated row{plural} sent once"
    messages.success(request, text + ".")
    if problems:
        lines = ", ".join(str(p.line) for p in problems[:PROBLEMS_SHOWN])
        more = (
            f" and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        )
        messages.warning(
            request,
            f"{len(problems)} row{'s' if len(problems) != 1 else ''} not used, "
            f"not being valid: line{'s' if len(problems) != 1 else ''} {lines}{more}.",
        )


@never_cache
@role_required(Role.RESPONDER)
def tell_invitations(request: HttpRequest) -> HttpResponse:
    organisation = current_organisation()
    # A person limited to some services invites people to tell about theirs only.
    listings = list(listings_for(organisation, limited_services(request.user)))
    if request.method != "POST":
        return _page(request, listings)
    if request.POST.get("action") == "one":
        form = OneForm(request.POST, listings=listings)
        if not form.is_valid():
            return _page(request, listings, one_form=form, status=400)
        address, channel = form.cleaned_data["address"]
        recipients = Recipients(addresses=[address])
        source = InvitationSource.FORM
        upload_form = None
    else:
        form = upload_form = UploadForm(request.POST, request.FILES, listings=listings)
        if not form.is_valid():
            return _page(request, listings, upload_form=form, status=400)
        channel = form.cleaned_data["channel"]
        source = InvitationSource.CSV
        try:
            recipients = read_csv(form.cleaned_data["file"].read(), channel)
        except InvitationFileError as exc:
            form.add_error("file", str(exc))
            return _page(request, listings, upload_form=form, status=400)
        if not recipients.addresses:
            form.add_error(
                "file",
                "No row of the file could be used: nothing was sent. Put them right "
                "and upload it again.",
            )
            return _page(
                request, listings, upload_form=form, problems=recipients.problems, status=400
            )
    try:
        batch = send_invitations(
            organisation=organisation,
            listing=form.listing(),
            channel=channel,
            recipients=recipients,
            source=source,
            actor=request.user,
            request=request,
        )
    except InvitationError as exc:
        form.add_error(None, str(exc))
        if upload_form is None:
            return _page(request, listings, one_form=form, status=400)
        return _page(request, listings, upload_form=form, status=400)
    _sent_message(request, batch, recipients.problems)
    return redirect("onboarding:tell_invitations")


@never_cache
@require_http_methods(["GET", "POST"])
def tell_invitation_opt_out(request: HttpRequest, link: str) -> HttpResponse:
    """Public, at the link the organisation's invitations carry (another's is a 404): the
    same answer whatever is typed, so it tells no one whether an address was invited or had
    opted out already."""
    organisation = current_organisation()
    if not is_opt_out_link(organisation, link):
        raise Http404("No such page.")
    form = OptOutForm(request.POST or None)
    done = False
    if request.method == "POST":
        limit = ratelimit.public_form_limit("invitation-opt-out")
        if ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit:
            return HttpResponse(
                "Too many requests from your network in the last hour. Please try again later.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
        if form.is_valid():
            opt_out(organisation, form.cleaned_data["address"])
            done = True
    return render(
        request,
        "onboarding/tell_invitation_opt_out.html",
        {"form": form, "done": done, "organisation": organisation},
        status=400 if form.errors else 200,
    )
