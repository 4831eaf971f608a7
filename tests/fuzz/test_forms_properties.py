"""Property tests of the public forms and the moderation actions, through the real views.

Whatever is posted (any Unicode, including NUL, lone surrogates, right-to-left overrides,
combining marks and emoji; fields far past their length; fields missing or sent twice; junk
in choice fields) the answer is never a 5xx, and the form is all-or-nothing: a redirect
with exactly the rows the action makes, or a 4xx / form error with none.

Bodies are sent url-encoded by hand, as a browser or a bot would, so a lone surrogate
arrives as the bytes that encode it (invalid UTF-8) rather than failing in the test client.
Each example runs in a savepoint that is rolled back, so examples cannot see each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from feedback.author_links import make_token
from feedback.choices import ChangeStatus
from feedback.hub.models import (
    AuthorReply,
    PublicResponse,
    PublicStory,
    Submission,
    SubmissionState,
)
from feedback.models import Story
from feedback.moderation import TEXT_FIELDS
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in, tell, tell_and_publish

pytestmark = pytest.mark.django_db

PROPERTY = hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- what is posted --------------------------------------------------------------------------

NASTY = [
    "\x00",  # PostgreSQL refuses NUL in text: the classic 500
    "\ud800",  # a lone surrogate: invalid UTF-8 on the wire
    "\udfff",
    "\u202e",  # right-to-left override
    "\u0301",  # a combining acute accent
    "\U0001f600",
    "\ufeff",
    "\x0c",
    "\r\n",
    "<script>alert(1)</script>",
    "&amp;",
    "' OR 1=1 --",
    "%00",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: a digit to str.isdigit and int()
    "\u00b2",  # SUPERSCRIPT TWO: a digit to str.isdigit, not to int()
    "\uff11",  # FULLWIDTH DIGIT ONE
]

nasty_text = st.lists(st.sampled_from(NASTY), min_size=1, max_size=6).map("".join)
huge_text = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["x", "word ", "\U0001f600", "e\u0301", "\x00", "\ud800"]),
    st.integers(min_value=100, max_value=200_000),
)
any_text = st.one_of(
    nasty_text,
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.tuples(st.text(max_size=10), nasty_text, st.text(max_size=10)).map("".join),
    huge_text,
)
junk_number = st.one_of(
    st.sampled_from(["", "0", "-1", "1.5", "1e3", "0x10", "\u00b2", "\u0663", "\uff11", "9" * 40]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    any_text,
)

# The cast's ids are known only when the test runs: strategies name them, `resolve` fills in.
WARD_A = "<ward_a>"


def resolve(fields: dict[str, list[str]], cast: Cast) -> dict[str, list[str]]:
    ids = {WARD_A: str(cast.ward_a.pk)}
    return {name: [ids.get(v, v) for v in values] for name, values in fields.items()}


_addresses = itertools.count(1)


def next_address() -> str:
    """A fresh client address per post: the per-address hourly limit has its own tests."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def encode(fields: dict[str, list[str]]) -> bytes:
    """application/x-www-form-urlencoded, each value's UTF-8 bytes, surrogates and all."""
    return "&".join(
        f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, values in fields.items()
        for value in values
    ).encode("ascii")


def as_received(value: str) -> str:
    """What Django reads: invalid UTF-8 (a lone surrogate's bytes) becomes U+FFFD."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def post(client: Client, path: str, fields: dict[str, list[str]]) -> Any:
    address = next_address()
    return client.post(
        path,
        encode(fields),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=address,
        HTTP_X_FORWARDED_FOR=address,
    )


@st.composite
def mutated(
    draw: st.DrawFn, valid: dict[str, list[str]], mutations: dict[str, st.SearchStrategy[str]]
) -> dict[str, list[str]]:
    """A valid post with up to six of its fields missing, doubled or replaced."""
    fields = {name: list(values) for name, values in valid.items()}
    for name in draw(st.sets(st.sampled_from(sorted(mutations)), max_size=6)):
        how = draw(st.sampled_from(["replace", "replace", "missing", "twice", "many"]))
        if how == "missing":
            fields.pop(name, None)
        elif how == "twice":
            fields[name] = [*fields.get(name, []), draw(mutations[name])]
        elif how == "many":
            fields[name] = draw(st.lists(mutations[name], min_size=2, max_size=5))
        else:
            fields[name] = [draw(mutations[name])]
    return fields


@dataclass
class Counts:
    submissions: int
    replies: int
    public_stories: int
    audit: int
    last_audit: int


def counts() -> Counts:
    with schema_context("public"):
        return Counts(
            Submission.objects.count(),
            AuthorReply.objects.count(),
            PublicStory.objects.count(),
            AuditEvent.objects.count(),
            AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0,
        )


@pytest.fixture
def savepoint() -> Iterator[Any]:
    """A context manager per Hypothesis example: a savepoint, always rolled back."""

    class Savepoint:
        def __enter__(self) -> None:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc: object) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(*exc)

    yield Savepoint


# --- the hub's "tell your story" form --------------------------------------------------------


STORY = {
    "action": ["send"],
    "services": [WARD_A],
    "title": ["Kind nurses on the ward"],
    "what_was_good": ["The nurses were kind and explained everything."],
    "what_could_be_improved": ["The wait for a bed was long."],
    "how_it_felt": ["Reassured."],
    "author_role": ["patient"],
    "author_age_group": ["55-64"],
    "nickname": ["Pat"],
    "email": ["author@example.net"],
    "postcode": ["LS1 4AP"],
    "consent": ["on"],
    "q": [""],
}


STORY_MUTATIONS: dict[str, st.SearchStrategy[str]] = {
    "action": st.one_of(st.just("search"), any_text),
    "services": junk_number,
    "title": any_text,
    "what_was_good": any_text,
    "what_could_be_improved": any_text,
    "how_it_felt": any_text,
    "author_role": st.one_of(st.sampled_from(["carer", "relative", "Patient", ""]), any_text),
    "author_age_group": st.one_of(st.sampled_from(["85+", "0-15", ""]), any_text),
    "nickname": any_text,
    "email": st.one_of(st.emails().map(str), any_text),
    "postcode": st.one_of(st.sampled_from(["LS1", "ls14ap", "SW1A 1AA"]), any_text),
    "assisted": st.sampled_from(["on", "", "false", "\x00"]),
    "assisted_by": any_text,
    "consent": st.sampled_from(["on", "", "false", "0", "\x00"]),
    "website": st.one_of(st.just(""), any_text),
    "q": any_text,
}


def story_with(**changes: list[str] | None) -> dict[str, list[str]]:
    fields = {**STORY, **changes}
    return {name: values for name, values in fields.items() if values is not None}


@given(fields=mutated(STORY, STORY_MUTATIONS))
# The classics, always tried first: NUL in the service search and in a story, a digit that
# int() refuses, a story far past every limit, a field sent twice, nothing at all.
@example(fields=story_with(q=["ward\x00"]))
@example(fields=story_with(services=["\u00b2"]))
@example(fields=story_with(title=["\x00"], what_was_good=["a\x00b"], nickname=["\x00"]))
@example(fields=story_with(what_was_good=["word " * 40_000], title=["x" * 201]))
@example(fields=story_with(author_role=["patient", "\x00"], services=[WARD_A, WARD_A]))
@example(fields=story_with(assisted=["on"], assisted_by=["\ud800\x00"]))
@example(fields={})
@PROPERTY
def test_the_story_form_never_errs_and_never_half_writes(
    cast: Cast, savepoint: Any, fields: dict[str, list[str]]
) -> None:
    fields = resolve(fields, cast)
    with savepoint():
        before = counts()
        response = post(client_for(None), "/tell/", fields)
        after = counts()
        assert response.status_code < 500
        event(f"answered {response.status_code}")
        assert after.replies == before.replies
        if response.status_code == 302:
            assert after.submissions == before.submissions + 1, "one story, one row"
            assert response["Location"].startswith("/tell/sent/")
            stored = Submission.objects.order_by("-pk").first()
            assert stored is not None
            assert "\x00" not in stored.title and len(stored.title) <= 200
            assert stored.state == SubmissionState.PENDING
            assisted = after.audit - before.audit
            assert assisted == (1 if stored.assisted_by else 0)
        else:
            assert response.status_code in (200, 400, 429), response.status_code
            assert after == before, "a refused story leaves nothing behind"
            if fields.get("action", [""])[-1] == "send" and response.status_code != 429:
                assert response.status_code == 400
                # Past Django's limit on a body's size, its own 400 comes before any form.
                if len(encode(fields)) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                    assert 'class="error' in response.content.decode()


# --- the author's reply, through the signed link ---------------------------------------------

REPLY = (
    "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We have added a discharge coordinator so beds free up "
    "earlier in the day. Rita Responder, Ward Manager"
)


@pytest.fixture
def author_link(cast: Cast) -> str:
    """The link emailed to an author, for a response that claims a change."""
    published = tell_and_publish(cast, [cast.ward_a])
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
        response = publish_response(
            story,
            Draft(REPLY, ChangeStatus.MADE, "A discharge coordinator"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    return f"/r/{make_token(PublicResponse.objects.get(pk=response.public_id))}/"


ACTIONS = ["reply", "helpful", "not helpful", "change happened", "change not happened"]


REPLY_POST = {"action": ["reply"], "body": ["Thank you, that is good to hear."]}


@given(
    fields=mutated(
        REPLY_POST, {"action": st.one_of(st.sampled_from(ACTIONS), any_text), "body": any_text}
    )
)
@example(fields={"action": ["reply"], "body": ["Thank you\x00"]})
@example(fields={"action": ["reply"], "body": ["\ud800 " * 100_000]})
@example(fields={"action": ["helpful", "reply"], "body": ["Thanks", "\U0001f600"]})
@example(fields={})
@PROPERTY
def test_the_author_reply_never_errs_and_never_half_writes(
    author_link: str, savepoint: Any, fields: dict[str, list[str]]
) -> None:
    with savepoint():
        before = counts()
        response = post(client_for(None), author_link, fields)
        after = counts()
        assert response.status_code < 500
        event(f"answered {response.status_code}")
        assert (after.submissions, after.public_stories) == (
            before.submissions,
            before.public_stories,
        )
        action = fields.get("action", [""])[-1]
        if response.status_code == 302 and action == "reply":
            assert after.replies == before.replies + 1
            stored = AuthorReply.objects.order_by("-pk").first()
            assert stored is not None and stored.body == as_received(fields["body"][-1]).strip()
        else:
            assert response.status_code in (302, 400), response.status_code
            assert after.replies == before.replies, "a refused reply leaves nothing behind"


# --- the moderation actions -------------------------------------------------------------------

PII = {
    "what_was_good": "Nurse Jo Bloggs was lovely. My NHS number is 943 476 5919.",
    "what_could_be_improved": "Ring me on 07700 900123 or email me@example.org.",
    "how_it_felt": "Relieved.",
}


@pytest.fixture
def moderator(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


MODERATION = {
    "action": ["publish"],
    "title": ["Kind nurses on the ward"],
    **{name: [text] for name, text in PII.items()},
    "criticality": ["not critical"],
    "tags": ["what was good:kind staff"],
    "services": [WARD_A],
    "details_checked": ["on"],
    "redact": ["what_was_good:0", "what_could_be_improved:0"],
    "finding-what_was_good-0": ["Nurse Jo Bloggs"],
    "replacement-what_was_good-0": ["a nurse"],
    "finding-what_could_be_improved-0": ["07700 900123"],
    "replacement-what_could_be_improved-0": [""],
    "rejection_reason": [""],
    "rejection_note": [""],
}


MODERATION_MUTATIONS: dict[str, st.SearchStrategy[str]] = {
    "action": st.one_of(st.sampled_from(["save", "reject", "find", "publish"]), any_text),
    "title": any_text,
    "what_was_good": any_text,
    "what_could_be_improved": any_text,
    "how_it_felt": any_text,
    # The author's own lines, checked and edited like the text (#14).
    "nickname": any_text,
    "assisted_by": any_text,
    "criticality": st.one_of(st.sampled_from(["", "highly critical", "critical"]), any_text),
    "tags": st.one_of(st.sampled_from(["feelings:grateful", "kind staff"]), any_text),
    "services": junk_number,
    "details_checked": st.sampled_from(["", "on", "\x00"]),
    "redact": st.one_of(
        st.sampled_from(
            ["what_was_good:1", "title:0", "how_it_felt:99", "body:0", ":", "nickname:0"]
        ),
        any_text,
    ),
    "replacement-what_was_good-0": any_text,
    "replacement-nickname-0": any_text,
    "replacement-what_could_be_improved-0": any_text,
    "finding-what_was_good-0": any_text,
    "rejection_reason": st.one_of(
        st.sampled_from(["", "spam", "duplicate", "off topic"]), any_text
    ),
    "rejection_note": any_text,
    "q": any_text,
}


def moderation_with(**changes: list[str]) -> dict[str, list[str]]:
    return {**MODERATION, **changes}


@given(fields=mutated(MODERATION, MODERATION_MUTATIONS))
@example(fields=moderation_with(action=["save"], **{"replacement-what_was_good-0": ["\x00"]}))
@example(fields=moderation_with(action=["save"], what_was_good=["Nurse Jo Bloggs\x00"]))
@example(fields=moderation_with(action=["reject"], rejection_reason=["spam"]))
@example(fields=moderation_with(action=["reject"], rejection_reason=["off topic"]))
@example(fields=moderation_with(action=["reject", "publish"], q=["\x00"]))
@example(fields=moderation_with(title=["x" * 100_000], services=["\u00b2"]))
@example(fields=moderation_with(action=["save"], nickname=["\x00"], assisted_by=["y" * 500]))
@example(fields=moderation_with(nickname=["jo@example.org"], redact=["nickname:0"]))
@example(fields={})
@PROPERTY
def test_moderation_actions_never_err_and_never_half_write(
    cast: Cast, moderator: Client, savepoint: Any, fields: dict[str, list[str]]
) -> None:
    fields = resolve(fields, cast)
    with savepoint():
        submission_id = tell([cast.ward_a], title="Kind nurses on the ward", **PII)
        original = Submission.objects.get(pk=submission_id)
        before = counts()
        response = moderator.post(
            f"/moderation/{submission_id}/",
            encode(fields),
            content_type="application/x-www-form-urlencoded",
        )
        after = counts()
        assert response.status_code < 500
        event(f"answered {response.status_code}")
        stored = Submission.objects.get(pk=submission_id)
        new_audit = list(
            AuditEvent.objects.filter(pk__gt=before.last_audit)
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert (after.submissions, after.replies) == (before.submissions, before.replies)
        if response.status_code != 302:
            assert response.status_code in (200, 400), response.status_code
            assert after == before, "a refused action leaves nothing behind"
            assert stored.state == SubmissionState.PENDING
            assert [getattr(stored, f) for f in TEXT_FIELDS] == [
                getattr(original, f) for f in TEXT_FIELDS
            ]
            return
        action = fields.get("action", [""])[-1]
        for name in (*TEXT_FIELDS, "nickname", "assisted_by"):
            assert "\x00" not in getattr(stored, name)
        if action == "publish":
            assert stored.state == SubmissionState.PUBLISHED
            assert after.public_stories == before.public_stories + 1
            assert new_audit[-1] == "moderation.published"
            assert set(new_audit) <= {"moderation.edited", "moderation.published"}
        elif action == "reject":
            assert stored.state == SubmissionState.REJECTED
            assert after.public_stories == before.public_stories
            assert new_audit == ["moderation.rejected"]
        else:
            assert action == "save", action
            assert stored.state == SubmissionState.PENDING
            assert after.public_stories == before.public_stories
            assert new_audit in ([], ["moderation.edited"])


@pytest.fixture
def claimed_change(cast: Cast, author_link: str) -> int:
    """The public response (claiming a change) behind `author_link`."""
    return PublicResponse.objects.get(change_status=ChangeStatus.MADE).pk


@given(question=st.one_of(st.just("Since when is the coordinator in post?"), any_text))
@example(question="Since when?\x00")
@example(question="\ud800" * 1000)
@PROPERTY
def test_a_question_on_a_change_claim_is_stored_whole_or_not_at_all(
    moderator: Client, claimed_change: int, savepoint: Any, question: str
) -> None:
    with savepoint():
        before = counts()
        response = post(
            moderator, f"/moderation/changes/{claimed_change}/", {"question": [question]}
        )
        assert response.status_code == 302
        event(f"answered {response.status_code}")
        stored = PublicResponse.objects.get(pk=claimed_change).change_query
        added = counts().audit - before.audit
        expected = as_received(question).strip()[:300]
        if stored:
            assert stored == expected and "\x00" not in stored
            assert added == 1
        else:
            assert added == 0, "a refused question leaves nothing behind"
