"""The read API, compatible with Care Opinion's API v2: an analyst's script works against
Carevoice by changing only its base URL.

Lists are bare JSON arrays paged with `skip` and `take` (at most 100); past the end the
answer is `[]`. An opinion always has the same 15 keys, with null for what is unknown.
Authentication is `Authorization: SUBSCRIPTION_KEY <key>` or `?key=<key>`; a key reads its
organisation's stories (and a network lead's, its consenting members').

`dateOfSubmission` gives only the day a story was sent, never its time (see `submission_day`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import wraps
from time import monotonic
from typing import Any
from xml.etree import ElementTree

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, CharField, Count, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Collate, Concat
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from feedback import api_paging
from feedback.api_encoding import page_json
from feedback.api_paging import Listing, page_of, page_query, page_sql
from feedback.apikeys import key_access
from feedback.choices import ChangeStatus, Progress
from feedback.hub.models import (
    ApiKey,
    PublicResponse,
    PublicStory,
    PublicStoryOrganisation,
    ServiceListing,
)
from feedback.languages import StoryLanguage
from feedback.public_cache import public_version
from feedback.publishing import UK, day_only
from tenants import ratelimit
from tenants.gate import Capability, has_capability
from tenants.models import Organisation

MAX_TAKE = 100
MAX_SKIP = 1_000_000_000
DIGITS = re.compile(r"^[0-9]{1,12}$")
# A service without a code of its own is given ours: CV and its listing's id.
GENERATED_PREFIX = "CV"
GENERATED_NACS = re.compile(rf"^{GENERATED_PREFIX}([0-9]{{1,12}})$", re.IGNORECASE)
# Characters XML 1.0 cannot carry at all.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
POLARITY = {"positive": 1, "neutral": 0, "negative": -1}
API_RATE = ratelimit.Limit("api-key", 5, 1)


class BadRequest(Exception):
    """A query parameter is malformed; the message names it."""


# --- answers: JSON by default, XML on request -------------------------------------------------


def wants_xml(request: HttpRequest) -> bool:
    requested = request.GET.get("format", "").lower()
    if requested in ("xml", "json"):
        return requested == "xml"
    accept = request.headers.get("Accept", "")
    return "xml" in accept and "json" not in accept


def to_xml(value: Any, tag: str) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    if isinstance(value, list):
        child_tag = tag[len("ArrayOf") :] if tag.startswith("ArrayOf") else tag.rstrip("s")
        for item in value:
            element.append(to_xml(item, child_tag))
    elif isinstance(value, dict):
        for key, item in value.items():
            element.append(to_xml(item, key))
    elif value is None:
        element.set("nil", "true")
    else:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        element.text = NOT_XML.sub("", text)
    return element


def answer(request: HttpRequest, data: Any, *, xml_tag: str, status: int = 200) -> HttpResponse:
    if wants_xml(request):
        body = ElementTree.tostring(to_xml(data, xml_tag), encoding="unicode", xml_declaration=True)
        return HttpResponse(body, status=status, content_type="application/xml; charset=utf-8")
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return answer(request, {"status": status, "message": message}, xml_tag="Error", status=status)


# --- authentication and rate limit ------------------------------------------------------------


def presented_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.upper() == "SUBSCRIPTION_KEY" and value.strip():
        return value.strip()
    return request.GET.get("key", "").strip()


def api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "GET":
            # The API's own error (JSON or XML), not Django's empty HTML 405.
            response = error(request, 405, "API v2 is read-only: only GET is answered.")
            response["Allow"] = "GET"
            return response
        secret = presented_key(request)
        access = key_access(secret, allowed=plan_allows_api) if secret else None
        if access is None:
            response = error(
                request,
                401,
                "A valid subscription key is needed: send the header "
                "'Authorization: SUBSCRIPTION_KEY <key>'.",
            )
            response["WWW-Authenticate"] = "SUBSCRIPTION_KEY"
            return response
        if ratelimit.hit(API_RATE, str(access.key_id)) > API_RATE.limit:
            response = error(request, 429, "At most 5 requests a second per key.")
            response["Retry-After"] = "1"
            return response
        if not access.allowed:
            return error(
                request, 403, "The plan of the organisation that owns this key has no API access."
            )
        _note_use(access.key_id)
        request.api_key_id = access.key_id
        request.readable_ids = list(access.readable_ids)
        try:
            refuse_nul(request, kwargs)
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return error(request, 400, str(exc))

    return wrapped


def refuse_nul(request: HttpRequest, path_values: dict[str, Any]) -> None:
    """PostgreSQL cannot take NUL in a text parameter: refuse it here, for every filter."""
    texts = [*path_values.values(), *request.GET.keys()]
    texts += [value for _, values in request.GET.lists() for value in values]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise BadRequest("A parameter contains a NUL character (%00), which no value can hold.")


def plan_allows_api(organisation: Organisation) -> bool:
    """The gate decides (the plan's API capability); remembered with the key's access for
    up to a minute (feedback/apikeys.py)."""
    return has_capability(organisation, Capability.API_ACCESS)


# When this process last asked to note each key's use (time.monotonic()): asked again only
# after NOTE_SECONDS, so a busy key costs no cache round trip on most requests.
_noted: dict[int, float] = {}
NOTE_SECONDS = 60


def _note_use(key_id: int) -> None:
    # At most one write a minute per key, whatever the request rate and however many
    # processes serve it (the cache's add decides between them).
    now = monotonic()
    if now - _noted.get(key_id, -NOTE_SECONDS) < NOTE_SECONDS:
        return
    if len(_noted) > 10_000:
        _noted.clear()
    _noted[key_id] = now
    if cache.add(f"api-key-used:{key_id}", 1, timeout=NOTE_SECONDS):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


# --- parameters ------------------------------------------------------------------------------


def paging(request: HttpRequest) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.GET.get(name, "")
        if raw == "":
            return default
        if not DIGITS.match(raw) or int(raw) > MAX_SKIP:
            raise BadRequest(f"'{name}' must be a whole number from 0 to {MAX_SKIP:,}.")
        return int(raw)

    return number("skip", 0), min(number("take", MAX_TAKE), MAX_TAKE)


def date_param(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    for pattern in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%m/%d/%Y"):
        try:
            return datetime.strptime(raw, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest(f"'{name}' must be a date like 2026-01-31.")


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def submission_day(moment: datetime | None) -> str | None:
    """The UK day a story was sent, in `iso`'s format so clients parse it as before, with
    the time of day always 00:00:00. The hub keeps the second; an organisation must not:
    with the route, it could match it against its own web-server or kiosk logs."""
    return f"{day_only(moment):%Y-%m-%d}T00:00:00Z" if moment else None


def sent_on_or_after(moment: datetime) -> datetime:
    """Where `submittedonafter` starts: the first day whose `submission_day` is not before
    `moment`, from its UK midnight. Days, never seconds: a filter with a time of day would
    otherwise find out when a story was sent, a few requests at a time."""
    day = moment.astimezone(UTC).date()
    if moment.astimezone(UTC).time() != time():
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=UK)


# --- shapes ----------------------------------------------------------------------------------


def nacs_of(listing: ServiceListing) -> str:
    """A service's code; services without one get a stable code of ours."""
    return listing.code or f"{GENERATED_PREFIX}{listing.pk}"


def listings_with_nacs(nacs: str, listings: QuerySet[ServiceListing]) -> QuerySet[ServiceListing]:
    """The listings `nacs_of` names `nacs`: a real code first, else one of our own."""
    own = listings.filter(code__iexact=nacs)
    generated = GENERATED_NACS.match(nacs)
    if generated and not own.exists():
        return listings.filter(pk=int(generated.group(1)), code="")
    return own


OPINION_FIELDS = (
    "id",
    "title",
    "body",
    "submitted_at",
    "published_at",
    "criticality",
    "author_role",
    "author_age_group",
    "submission_route",
    "author_nickname",
    "language",
)


def opinions_from(
    rows: list[dict[str, Any]], base: str, readers: list[int]
) -> list[dict[str, Any]]:
    """Opinions for stories read with `.values(*OPINION_FIELDS)` by a key reading the
    organisations `readers`: a few more queries in all, for the codes of the services each
    is about, its responses, and the readers' own progress on it."""
    codes: dict[int, list[str]] = {row["id"]: [] for row in rows}
    services = (
        PublicStory.services.through.objects.filter(publicstory_id__in=codes)
        .order_by(
            "servicelisting__organisation__name",
            "servicelisting__site_name",
            "servicelisting__name",
        )
        .values_list("publicstory_id", "servicelisting_id", "servicelisting__code")
    )
    for story_id, listing_id, code in services:
        codes[story_id].append(code or f"CV{listing_id}")
    answered = {
        row["public_story_id"]: row
        for row in PublicResponse.objects.filter(public_story_id__in=codes)
        .values("public_story_id")
        .annotate(count=Count("id"), last=Max("published_at"))
    }
    progress = readers_progress(list(codes), readers)
    return [
        opinion(
            {**row, "progress": progress.get(row["id"], Progress.UNHEARD)},
            codes[row["id"]],
            base,
            answered.get(row["id"]),
        )
        for row in rows
    ]


def readers_progress(story_ids: list[int], readers: list[int]) -> dict[int, str]:
    """How far the reading organisations have taken each story: the furthest of their own
    progress (never another organisation's, nor the story's overall progress)."""
    furthest: dict[int, str] = {}
    for story_id, progress in PublicStoryOrganisation.objects.filter(
        publicstory_id__in=story_ids, organisation_id__in=readers
    ).values_list("publicstory_id", "progress"):
        known = furthest.get(story_id, Progress.UNHEARD)
        if Progress.values.index(progress) > Progress.values.index(known):
            known = progress
        furthest[story_id] = known
    return furthest


def opinion(
    row: dict[str, Any], nacs_codes: list[str], base: str, answered: dict[str, Any] | None
) -> dict[str, Any]:
    story_id = row["id"]
    url = f"{base}api/v2/opinions/{story_id}"
    links = [
        {"relation": "self", "id": str(story_id), "link": url},
        {"relation": "tags", "id": str(story_id), "link": f"{url}/tags"},
        {"relation": "responses", "id": str(story_id), "link": f"{url}/responses"},
        {"relation": "healthservices", "id": str(story_id), "link": f"{url}/healthservices"},
        *[
            {"relation": "healthservice", "id": nacs, "link": f"{base}api/v2/healthservices/{nacs}"}
            for nacs in nacs_codes
        ],
        {"relation": "web", "id": str(story_id), "link": f"{base}stories/{story_id}/"},
    ]
    return {
        "id": story_id,
        "title": row["title"],
        "body": row["body"],
        "dateOfSubmission": submission_day(row["submitted_at"]),
        "dateOfPublication": iso(row["published_at"]),
        "criticality": row["criticality"] or None,
        "progress": row["progress"],
        "authorRole": row["author_role"],
        "authorAgeGroup": row["author_age_group"],
        "submissionRoute": row["submission_route"],
        # The language it was told and published in: "en" or "cy" (ISO 639-1).
        "language": row["language"],
        "author": row["author_nickname"] or None,
        "responseCount": answered["count"] if answered else 0,
        "hasResponse": answered is not None,
        "dateOfLastResponse": iso(answered["last"]) if answered else None,
        "links": links,
    }


def healthservice(listing: ServiceListing) -> dict[str, Any]:
    return {
        "nacs": nacs_of(listing),
        "name": listing.name,
        "type": listing.type,
        "organisation": listing.organisation.name,
        "siteNacs": listing.site_code or None,
    }


def tag(item: dict[str, str]) -> dict[str, Any]:
    return {"name": item["name"], "group": item["group"], "polarity": POLARITY[item["polarity"]]}


# --- views -----------------------------------------------------------------------------------


def readable_stories(request: HttpRequest) -> QuerySet[PublicStory]:
    ids = PublicStory.organisations.through.objects.filter(
        organisation_id__in=request.readable_ids
    ).values("publicstory_id")
    return PublicStory.objects.filter(pk__in=ids)


@api_view
def opinions(request: HttpRequest) -> HttpResponse:
    skip, _ = paging(request)
    if skip >= api_paging.STRIDE:
        # A deep page: asked for once as a script pages through, quick to build from its
        # cached boundary (api_paging), and 120 KB to keep: not kept.
        return _opinions(request)
    # The same question from the same readers gets the same answer until a story is
    # published or the directory changes: keep the encoded page for a while.
    question = json.dumps(
        [
            request.readable_ids,
            sorted((k, v) for k, v in request.GET.items() if k != "key"),
            wants_xml(request),
            request.build_absolute_uri("/"),
        ]
    )
    cache_key = f"api-opinions:{public_version()}:{hashlib.sha256(question.encode()).hexdigest()}"
    cached = cache.get(cache_key)
    if cached is not None:
        content_type, body = cached
        return HttpResponse(body, content_type=content_type)
    response = _opinions(request)
    if response.status_code == 200:
        cache.set(cache_key, (response["Content-Type"], response.content), timeout=30)
    return response


def _opinions(request: HttpRequest) -> HttpResponse:
    skip, take = paging(request)
    # With no filter the readers' own list is paged by itself, and no query of the stories
    # is built (a few hundred microseconds of each request).
    filters: list[Q] = []
    if (after := date_param(request, "submittedonafter")) is not None:
        filters.append(Q(submitted_at__gte=sent_on_or_after(after)))
    if (after := date_param(request, "publishedafter")) is not None:
        filters.append(Q(published_at__gt=after))
    if name := request.GET.get("tag", "").strip().lower():
        filters.append(Q(tags__contains=[{"name": name}]))
    if language := request.GET.get("language", "").strip().lower():
        if language not in StoryLanguage.values:
            raise BadRequest(f"'language' is one of: {', '.join(StoryLanguage.values)}.")
        filters.append(Q(language=language))
    if nacs := request.GET.get("nacs", "").strip():
        about = PublicStory.services.through.objects.filter(
            servicelisting__in=listings_with_nacs(nacs, ServiceListing.objects)
        ).values("publicstory_id")
        filters.append(Q(pk__in=about))
    order = request.GET.get("dateofpublicationorder", "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise BadRequest("'dateofpublicationorder' is 'ascending' or 'descending'.")
    descending = order == "descending"
    # The page as SQL of (published_at, story id) rows in list order, or None when it is
    # known to be empty. Deep pages start from cached page boundaries, not an OFFSET.
    page: tuple[str, tuple[Any, ...]] | None
    if not filters:
        page = _readable_page(request, descending=descending, skip=skip, take=take)
    else:
        stories = readable_stories(request).filter(*filters)
        found = page_query(
            stories.values("published_at", "id"),
            order_field="published_at",
            descending=descending,
            skip=skip,
            take=take,
        )
        page = None if found is None else found.query.sql_with_params()
    base = request.build_absolute_uri("/")
    if not wants_xml(request):
        # PostgreSQL finds the page and builds the array in one query (api_encoding): the
        # same answer as opinions_from's.
        body = (
            "[]"
            if page is None
            else page_json(
                page,
                descending=descending,
                base=base,
                readers=request.readable_ids,
            )
        )
        return HttpResponse(body, content_type="application/json")
    ids = [] if page is None else _page_ids(page)
    found = {
        row["id"]: row for row in PublicStory.objects.filter(pk__in=ids).values(*OPINION_FIELDS)
    }
    rows = [found[pk] for pk in ids if pk in found]
    return answer(
        request, opinions_from(rows, base, request.readable_ids), xml_tag="ArrayOfOpinion"
    )


def _readable_page(
    request: HttpRequest, *, descending: bool, skip: int, take: int
) -> tuple[str, tuple[Any, ...]] | None:
    """The page of every story the key reads, as SQL of (published_at, story id) rows: found
    in the readers' own publication order (their links to the stories, one index), from the
    page's cached boundary (api_paging). A story that names two readers is listed once: its
    links share the story's id and published_at. Written as SQL, not as a query set: this is
    the list most asked for, and building its query with the ORM cost more than running it."""
    links = PublicStoryOrganisation._meta.db_table
    listing = Listing(
        label="api-readable-opinions",
        sql=(
            f"SELECT DISTINCT link.published_at, link.publicstory_id FROM {links} link "
            "WHERE link.organisation_id = ANY(%s)"
        ),
        params=(list(request.readable_ids),),
    )
    return page_sql(listing, descending=descending, skip=skip, take=take)


def _page_ids(page: tuple[str, tuple[Any, ...]]) -> list[int]:
    """The story ids of a page's (published_at, story id) rows, in list order."""
    sql, params = page
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for _, pk in cursor.fetchall()]


def _story_or_none(request: HttpRequest, pk: int) -> PublicStory | None:
    return (
        readable_stories(request).filter(pk=pk).prefetch_related("services__organisation").first()
    )


@api_view
def opinion_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rows = list(readable_stories(request).filter(pk=pk).values(*OPINION_FIELDS))
    if not rows:
        return error(request, 404, f"No opinion {pk} is readable with this key.")
    return answer(
        request,
        opinions_from(rows, request.build_absolute_uri("/"), request.readable_ids)[0],
        xml_tag="Opinion",
    )


@api_view
def opinion_tags(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story_or_none(request, pk)
    if story is None:
        return error(request, 404, f"No opinion {pk} is readable with this key.")
    return answer(request, [tag(item) for item in story.tags], xml_tag="ArrayOfTag")


@api_view
def opinion_healthservices(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story_or_none(request, pk)
    if story is None:
        return error(request, 404, f"No opinion {pk} is readable with this key.")
    services = [healthservice(listing) for listing in story.services.all()]
    return answer(request, services, xml_tag="ArrayOfHealthService")


CHANGE_SCORE = {
    ChangeStatus.NONE: ("no change", 0),
    ChangeStatus.PLANNED: ("change planned", 1),
    ChangeStatus.MADE: ("change made", 2),
}


def response_json(response: PublicResponse, base: str) -> dict[str, Any]:
    score, number = CHANGE_SCORE[ChangeStatus(response.change_status)]
    return {
        "id": response.pk,
        "opinionId": response.public_story_id,
        "responderName": response.responder_name,
        "responderJobTitle": response.responder_job_title or None,
        "responderDepartment": response.responder_department or None,
        "isClinician": response.responder_is_clinician,
        "organisation": response.organisation.name,
        "body": response.body,
        "dateOfResponse": iso(response.published_at),
        "dateOfLastEdit": iso(response.updated_at),
        "changeScore": score,
        "changeInt": number,
        "changeDescription": response.change_description or None,
        "links": [
            {
                "relation": "self",
                "id": str(response.pk),
                "link": f"{base}api/v2/responses/{response.pk}",
            },
            {
                "relation": "opinion",
                "id": str(response.public_story_id),
                "link": f"{base}api/v2/opinions/{response.public_story_id}",
            },
        ],
    }


def readable_responses(request: HttpRequest) -> QuerySet[PublicResponse]:
    return PublicResponse.objects.filter(public_story__in=readable_stories(request)).select_related(
        "organisation"
    )


@api_view
def opinion_responses(request: HttpRequest, pk: int) -> HttpResponse:
    if not readable_stories(request).filter(pk=pk).exists():
        return error(request, 404, f"No opinion {pk} is readable with this key.")
    base = request.build_absolute_uri("/")
    rows = readable_responses(request).filter(public_story_id=pk).order_by("published_at", "id")
    return answer(request, [response_json(r, base) for r in rows], xml_tag="ArrayOfResponse")


@api_view
def responses(request: HttpRequest) -> HttpResponse:
    skip, take = paging(request)
    base = request.build_absolute_uri("/")
    rows = page_of(
        readable_responses(request),
        order_field="published_at",
        descending=False,
        skip=skip,
        take=take,
    )
    return answer(request, [response_json(r, base) for r in rows], xml_tag="ArrayOfResponse")


@api_view
def response_detail(request: HttpRequest, pk: int) -> HttpResponse:
    response = readable_responses(request).filter(pk=pk).first()
    if response is None:
        return error(request, 404, f"No response {pk} is readable with this key.")
    return answer(
        request, response_json(response, request.build_absolute_uri("/")), xml_tag="Response"
    )


def listings_by_code() -> QuerySet[ServiceListing]:
    return ServiceListing.objects.filter(is_active=True).select_related("organisation")


def nacs_order() -> Collate:
    """`nacs_of` in SQL, compared character by character (the C collation), so services are
    listed in the order of the codes the API shows: a generated CV code among the others,
    not first because its stored code is empty."""
    generated = Concat(Value(GENERATED_PREFIX), Cast("pk", CharField()))
    return Collate(
        Case(When(code="", then=generated), default=F("code"), output_field=CharField()), "C"
    )


@api_view
def healthservices(request: HttpRequest) -> HttpResponse:
    skip, take = paging(request)
    listings = listings_by_code()
    if name := request.GET.get("name", "").strip():
        listings = listings.filter(name__icontains=name)
    if kind := request.GET.get("type", "").strip():
        listings = listings.filter(type__iexact=kind)
    if (after := date_param(request, "addedAfter")) is not None:
        listings = listings.filter(created_at__gt=after)
    listings = listings.order_by(nacs_order(), "id")[skip : skip + take]
    return answer(request, [healthservice(x) for x in listings], xml_tag="ArrayOfHealthService")


@api_view
def healthservice_detail(request: HttpRequest, nacs: str) -> HttpResponse:
    listing = listings_with_nacs(nacs, listings_by_code()).first()
    if listing is None:
        return error(request, 404, f"No health service {nacs}.")
    return answer(request, healthservice(listing), xml_tag="HealthService")


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other address under /api/v2/: an API error, not the site's HTML page."""
    return error(
        request, 404, "There is nothing at this address in API v2; see /api/v2/openapi.json."
    )
