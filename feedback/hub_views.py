"""Hub pages for the public: tell a story (hub form, widget, kiosk), browse and read stories."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.security import allow_framing_by
from feedback import directory
from feedback.author_links import response_for_token
from feedback.browsing import organisation_summary, search_public_stories
from feedback.choices import SubmissionRoute
from feedback.followup import FollowupError, confirm_change, mark_helpful, submit_author_reply
from feedback.forms import StoryForm
from feedback.hub.models import AuthorReply, PublicResponse, PublicStory, ReplyState, ServiceListing
from feedback.languages import story_language
from feedback.organisation_links import organisation_links
from feedback.reach.campaigns import campaign_by_code, record_submission_campaign
from feedback.reach.models import Campaign
from feedback.submissions import StoryFromAuthor, submit_story
from feedback.widget_tokens import (
    TokenProblem,
    is_allowed_origin,
    issue_form_token,
    redeem_form_token,
)
from tenants import ratelimit
from tenants.models import Organisation, OrganisationStatus


def _organisation(slug: str) -> Organisation:
    return get_object_or_404(
        Organisation.objects.ready(), slug=slug, status=OrganisationStatus.ACTIVE
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        "Too many stories have been sent from your network in the last hour. "
        "Please try again later.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )


def _handle_story_form(
    request: HttpRequest,
    *,
    template: str,
    route: str,
    sent_url: str,
    organisation: Organisation | None = None,
    service: ServiceListing | None = None,
    with_contact: bool = True,
    signed_form: bool = False,
    extra: dict | None = None,
    campaign: Campaign | None = None,
) -> HttpResponse:
    """The one flow behind every way of telling a story, so all of them behave alike.

    Without JavaScript, finding services is a form post too: "Search" re-shows the form with
    what was typed and the services found; "Send" validates and submits.

    `signed_form`: the form carries a signed form token for `organisation` instead of the
    CSRF cookie (feedback/widget_tokens.py), and "Send" spends it.

    `campaign`: the leaflet, poster or screen the author came from (feedback/reach), carried
    through the form and recorded with the story. A link's `?service=<listing id>` chooses
    that service before the author does anything.
    """
    sending = request.method == "POST" and request.POST.get("action") == "send"
    source = request.POST if request.method == "POST" else request.GET
    query = source.get("q", "").strip()[:100]
    if service is not None:
        chosen = [service]
    else:
        # isascii: "²" and other Unicode digits pass isdigit() but not int().
        picked = (
            request.POST.getlist("services")
            if request.method == "POST"
            else request.GET.getlist("service")
        )
        ids = [int(v) for v in picked if v.isascii() and v.isdigit()][:20]
        chosen = directory.listings_by_id(ids, organisation=organisation)
    found = []
    if query or organisation is not None:
        found = list(directory.search_listings(query, organisation=organisation))
    offered = {listing.pk: listing for listing in [*chosen, *found]}
    form_kwargs = {"listings": list(offered.values()), "with_contact": with_contact}
    token_problem: TokenProblem | None = None
    if sending:
        form = StoryForm(request.POST, **form_kwargs)
        limit = ratelimit.public_form_limit("story")
        if form.is_bot or ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit:
            return _too_many(request)
        if signed_form and organisation is not None:
            token_problem = redeem_form_token(request.POST.get("form_token", ""), organisation)
        # Validated either way, so a refused token still shows any mistakes to put right.
        if form.is_valid() and token_problem is None:
            _submit(form, route, campaign=campaign)
            return redirect(
                sent_url
                + ("&" if "?" in sent_url else "?")
                + ("email=1" if form.cleaned_data.get("email") else "email=0")
            )
    else:
        typed = request.POST.dict() if request.method == "POST" else {}
        form = StoryForm(initial={**typed, "services": [x.pk for x in chosen]}, **form_kwargs)
    chosen_ids = {listing.pk for listing in chosen}
    context = {
        "form": form,
        "query": query,
        "chosen": chosen,
        "found": [listing for listing in found if listing.pk not in chosen_ids],
        "for_organisation": organisation,
        "service": service,
        # A fresh token on every showing: a refused or spent one is replaced, and what the
        # author typed is sent again with it.
        "form_token": issue_form_token(organisation) if signed_form and organisation else "",
        "token_problem": token_problem.message if token_problem else "",
        "campaign_code": campaign.code if campaign else "",
        **(extra or {}),
    }
    refused = token_problem is not None or (form.is_bound and form.errors)
    return render(request, template, context, status=400 if refused else 200)


# One transaction: the story and the campaign it came from are recorded together.
@transaction.atomic
def _submit(form: StoryForm, route: str, *, campaign: Campaign | None = None) -> None:
    data = form.cleaned_data
    submission = submit_story(
        StoryFromAuthor(
            title=data["title"],
            what_was_good=data["what_was_good"],
            what_could_be_improved=data["what_could_be_improved"],
            how_it_felt=data["how_it_felt"],
            author_role=data["author_role"],
            author_age_group=data["author_age_group"],
            nickname=data["nickname"],
            email=data.get("email", ""),
            postcode=data.get("postcode", ""),
            route=SubmissionRoute.ASSISTED if data["assisted"] else route,
            assisted_by=data["assisted_by"] if data["assisted"] else "",
            listings=form.chosen_listings(),
            # Told in the language the form was shown in (feedback/languages.py).
            language=story_language(),
        )
    )
    if campaign is not None:
        record_submission_campaign(submission, campaign)


@require_http_methods(["GET", "POST"])
def tell(request: HttpRequest) -> HttpResponse:
    # A leaflet's or poster's campaign code; an unknown or malformed one is ignored.
    campaign = campaign_by_code(request.POST.get("campaign") or request.GET.get("campaign"))
    return _handle_story_form(
        request,
        template="hub/tell.html",
        route=SubmissionRoute.WEB,
        sent_url=reverse("hub:sent"),
        campaign=campaign,
    )


def sent(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/sent.html", {"gave_email": request.GET.get("email") == "1"})


def _embed_hosts(request: HttpRequest) -> list[str]:
    organisation = getattr(request, "widget_organisation", None)
    return list(organisation.embed_hosts) if organisation else []


# The widget's form is framed by another site, where no cookie reaches it; a signed form
# token and the Origin check take the CSRF cookie's place (feedback/widget_tokens.py).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@allow_framing_by(_embed_hosts)
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(slug)
    request.widget_organisation = organisation
    if request.method == "POST" and not is_allowed_origin(request, organisation):
        return render(
            request, "hub/widget_refused.html", {"for_organisation": organisation}, status=403
        )
    latest = (
        PublicStory.objects.filter(organisations=organisation)
        .only("id", "title", "body", "published_at")
        .order_by("-published_at")[:5]
    )
    return _handle_story_form(
        request,
        template="hub/widget.html",
        route=SubmissionRoute.WIDGET,
        organisation=organisation,
        sent_url=reverse("hub:widget_sent", args=[slug]),
        signed_form=True,
        extra={"latest": latest},
    )


@allow_framing_by(_embed_hosts)
def widget_sent(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(slug)
    request.widget_organisation = organisation
    return render(
        request,
        "hub/widget_sent.html",
        {"for_organisation": organisation, "gave_email": request.GET.get("email") == "1"},
    )


def widget_script(request: HttpRequest, slug: str) -> HttpResponse:
    """A script tag's target: it puts the widget's iframe where the tag stands."""
    organisation = _organisation(slug)
    src = request.build_absolute_uri(reverse("hub:widget", args=[organisation.slug]))
    # The frame's title, in the visitor's language (makemessages does not read .js).
    context = {"src": src, "title": gettext("Carevoice stories")}
    body = render(request, "hub/widget.js", context, content_type="text/javascript")
    body["Cache-Control"] = "public, max-age=300"
    return body


@require_http_methods(["GET", "POST"])
def kiosk(request: HttpRequest, slug: str, service_id: int | None = None) -> HttpResponse:
    organisation = _organisation(slug)
    service = None
    if service_id is not None:
        service = get_object_or_404(
            directory.active_listings(), organisation=organisation, pk=service_id
        )
    start = request.path
    return _handle_story_form(
        request,
        template="hub/kiosk.html",
        route=SubmissionRoute.KIOSK,
        organisation=organisation,
        service=service,
        with_contact=False,
        sent_url=reverse("hub:kiosk_sent", args=[slug]) + f"?back={start}",
        extra={"kiosk_start": start, "kiosk": True},
    )


def kiosk_sent(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(slug)
    back = request.GET.get("back", "")
    if not back.startswith(f"/o/{organisation.slug}/kiosk/"):
        back = reverse("hub:kiosk", args=[organisation.slug])
    return render(
        request,
        "hub/kiosk_sent.html",
        {"for_organisation": organisation, "back": back, "kiosk": True},
    )


def browse(request: HttpRequest) -> HttpResponse:
    filters = {
        "q": request.GET.get("q", "").strip()[:200],
        "organisation": request.GET.get("organisation", "").strip(),
        "service": request.GET.get("service", "").strip(),
        "tag": request.GET.get("tag", "").strip(),
    }
    stories = search_public_stories(**filters)
    page = Paginator(stories, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "hub/browse.html",
        {
            "page": page,
            "filters": filters,
            "organisations": Organisation.objects.ready().only("name", "slug"),
            "querystring": "&".join(f"{k}={v}" for k, v in filters.items() if v),
        },
    )


def story(request: HttpRequest, pk: int) -> HttpResponse:
    public_story = (
        PublicStory.objects.prefetch_related(
            Prefetch("services", ServiceListing.objects.select_related("organisation")),
            Prefetch(
                "responses",
                PublicResponse.objects.select_related("organisation").prefetch_related(
                    Prefetch("replies", AuthorReply.objects.filter(state=ReplyState.PUBLISHED))
                ),
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if public_story is None:
        # A story withdrawn at its author's request says so (410), where it stood.
        from feedback.rights_views import withdrawn_story_page
        from feedback.withdrawal import withdrawn_note

        note = withdrawn_note(pk)
        if note is None:
            raise Http404("No such story.")
        return withdrawn_story_page(request, note)
    return render(request, "hub/story.html", {"story": public_story})


@require_http_methods(["GET", "POST"])
def author_response(request: HttpRequest, token: str) -> HttpResponse:
    """The author's page for one response, reached only through the signed link we emailed."""
    response = response_for_token(token)
    if response is None:
        return render(request, "hub/author_link_expired.html", status=404)
    if request.method == "POST":
        limit = ratelimit.public_form_limit("author-reply")
        if ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit:
            return _too_many(request)
        action = request.POST.get("action")
        try:
            if action == "reply":
                submit_author_reply(response, request.POST.get("body", ""))
                messages.success(
                    request,
                    gettext("Thank you. A moderator will read your reply before it is published."),
                )
            elif action in ("helpful", "not helpful"):
                mark_helpful(response, action == "helpful")
                messages.success(request, gettext("Thank you for saying."))
            elif action in ("change happened", "change not happened"):
                confirm_change(response, action == "change happened")
                messages.success(request, gettext("Thank you for telling us."))
            else:
                messages.error(request, gettext("Choose what you want to do."))
        except FollowupError as exc:
            messages.error(request, str(exc))
            return render(
                request,
                "hub/author_response.html",
                {"response": response, "body": request.POST.get("body", "")},
                status=400,
            )
        return redirect(request.path)
    return render(request, "hub/author_response.html", {"response": response})


def organisation_page(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(slug)
    summary = organisation_summary(organisation)
    return render(
        request,
        "hub/organisation.html",
        {"org": organisation, "summary": summary, "links": organisation_links(organisation)},
    )


def hub_home(request: HttpRequest) -> HttpResponse:
    latest = PublicStory.objects.only("id", "title", "body", "published_at").order_by(
        "-published_at"
    )[:6]
    return render(request, "hub/home.html", {"latest": latest, "base_domain": settings.BASE_DOMAIN})


def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404
