"""Themes learned from an organisation's own stories (feedback/topics.py): TF-IDF and NMF find
the topics planted in synthetic corpora (adjusted Rand index at least 0.7); fitted in the
organisation's schema, renamed by staff (names kept across refits), and used by the live
dashboard, the stories summary and the emerging-theme alerts; another organisation sees none
of them."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from sklearn.metrics import adjusted_rand_score

from alerts import emerging
from feedback import topics
from feedback.models import LearnedTopic, Story, StoryTopic
from feedback.publishing import StoryToPublish, import_published_stories
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in
from tests.dashboards.dash_client import LIVE, call, csrf_token, live_filters, result

PLANTS = {
    "food": [
        "meal",
        "meals",
        "food",
        "cold",
        "tray",
        "lunch",
        "dinner",
        "menu",
        "hungry",
        "sandwich",
        "tea",
        "breakfast",
    ],
    "parking": [
        "parking",
        "car",
        "park",
        "ticket",
        "machine",
        "spaces",
        "fine",
        "barrier",
        "pay",
        "permit",
        "drive",
    ],
    "discharge": [
        "discharge",
        "home",
        "medicines",
        "pharmacy",
        "waiting",
        "letter",
        "transport",
        "sent",
        "release",
        "paperwork",
    ],
    "pain": [
        "pain",
        "relief",
        "morphine",
        "painkillers",
        "hurting",
        "agony",
        "medication",
        "dose",
        "sore",
        "nurse",
    ],
    "kindness": [
        "kind",
        "caring",
        "lovely",
        "compassionate",
        "gentle",
        "reassuring",
        "nurse",
        "warm",
        "friendly",
        "thoughtful",
    ],
    "call bells": [
        "call",
        "bell",
        "buzzer",
        "pressed",
        "nobody",
        "came",
        "answered",
        "toilet",
        "waited",
        "alone",
    ],
}
FILLER = [
    "ward",
    "nurse",
    "staff",
    "hospital",
    "day",
    "night",
    "time",
    "mum",
    "dad",
    "told",
    "said",
    "went",
    "felt",
    "really",
    "very",
    "just",
    "doctor",
    "team",
    "week",
    "morning",
    "afternoon",
    "bed",
    "room",
    "visit",
    "family",
    "husband",
    "wife",
    "son",
    "daughter",
    "thank",
    "thanks",
    "care",
    "cared",
    "treated",
    "asked",
    "explained",
    "needed",
    "saw",
    "looked",
]


def corpus(
    seed: int, per_topic: int = 50, plants: dict | None = None
) -> tuple[list[str], list[int]]:
    """Stories of 20 to 70 words, 3 in 10 of them from their planted topic's words and the
    rest from words every story uses; (texts, planted topic of each)."""
    rng = random.Random(seed)
    texts, truth = [], []
    for label, vocabulary in enumerate((plants or PLANTS).values()):
        for _ in range(per_topic):
            words = [
                rng.choice(vocabulary) if rng.random() < 0.3 else rng.choice(FILLER)
                for _ in range(rng.randint(20, 70))
            ]
            texts.append(" ".join(words))
            truth.append(label)
    return texts, truth


def placed(found: list[tuple[int, float] | None]) -> list[int]:
    return [f[0] if f is not None else -1 for f in found]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_planted_topics_are_found(seed: int) -> None:
    texts, truth = corpus(seed)
    terms, found = topics.learn(texts, len(PLANTS))
    assert adjusted_rand_score(truth, placed(found)) >= 0.7
    # Each planted topic's words lead one learned topic.
    leaders = {words[0] for words in terms}
    for vocabulary in PLANTS.values():
        assert leaders & set(vocabulary)
    # With the number of topics worked out from the number of stories.
    auto_terms, auto_found = topics.learn(texts)
    assert len(auto_terms) == topics.topic_count(len(texts))
    assert adjusted_rand_score(truth, placed(auto_found)) >= 0.7


def test_the_number_of_topics_grows_with_the_stories_within_bounds() -> None:
    assert topics.topic_count(40) == topics.MIN_TOPICS
    assert topics.topic_count(1000) == 10
    assert topics.topic_count(200_000) == topics.MAX_TOPICS


def publish(cast: Cast, texts: list[str], *, days_ago: int = 30) -> None:
    now = timezone.now()
    import_published_stories(
        [
            StoryToPublish(
                title=" ".join(text.split()[:6]).capitalize(),
                body=text,
                criticality="mildly critical" if n % 2 else "not critical",
                author_role="patient",
                author_age_group="55-64",
                submission_route="web",
                submitted_at=now - timedelta(days=days_ago, hours=n % 24),
                published_at=now - timedelta(days=days_ago, hours=n % 24),
                listings=[cast.ward_a],
            )
            for n, text in enumerate(texts)
        ]
    )


PLANTED_THREE = {name: PLANTS[name] for name in ("food", "parking", "call bells")}


@pytest.mark.django_db
def test_topics_are_fitted_in_the_schema_renamed_and_kept_across_refits(cast: Cast) -> None:
    texts, truth = corpus(5, per_topic=30, plants=PLANTED_THREE)
    with schema_context("public"):
        publish(cast, texts)
    with tenant_context(cast.org_a):
        fitted = topics.fit_topics(k=3)
        assert (fitted.stories, fitted.topics) == (90, 3)
        by_body = dict(Story.objects.values_list("body", "pk"))
        topic_of = dict(StoryTopic.objects.values_list("story_id", "topic__number"))
        predicted = [topic_of.get(by_body[text], -1) for text in texts]
        assert adjusted_rand_score(truth, predicted) >= 0.7
        parking = topic_about(PLANTS["parking"])
        assert parking.stories == 30 and parking.label == ", ".join(parking.terms[:3])
        topics.rename_topic(parking, "  Car  parking  ", actor=cast.admin_a)
        assert LearnedTopic.objects.get(pk=parking.pk).label == "Car parking"
        assert AuditEvent.objects.filter(action="topics.renamed").exists()
        with pytest.raises(topics.TopicError):
            topics.rename_topic(parking, "x" * 61, actor=cast.admin_a)
        topics.fit_topics(k=3)  # the next night: new rows, the name carried over
        assert LearnedTopic.objects.filter(name="Car parking").count() == 1
        assert LearnedTopic.objects.get(name="Car parking").pk != parking.pk
    # B learned nothing of A's.
    with tenant_context(cast.org_b):
        assert not LearnedTopic.objects.exists()


@pytest.mark.django_db
def test_too_few_stories_learn_nothing(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        assert topics.fit_topics().topics == 0
        assert not LearnedTopic.objects.exists()


@pytest.fixture
def learned(cast: Cast) -> list[str]:
    texts, _ = corpus(9, per_topic=30, plants=PLANTED_THREE)
    with schema_context("public"):
        publish(cast, texts, days_ago=3)
    with tenant_context(cast.org_a):
        topics.fit_topics(k=3)
        topic = topic_about(PLANTS["parking"])
        topics.rename_topic(topic, "Car <b>parking</b>", actor=cast.admin_a)
        return list(LearnedTopic.objects.values_list("pk", flat=True))


def topic_about(vocabulary: list[str]) -> LearnedTopic:
    """The learned topic whose top terms hold the most of a planted topic's words."""
    return max(LearnedTopic.objects.all(), key=lambda t: len(set(t.terms) & set(vocabulary)))


def signed_in(cast: Cast, who: str, organisation: str = "org_a") -> Client:
    client = client_for(getattr(cast, organisation))
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


@pytest.mark.django_db
def test_the_themes_page_lists_and_renames_for_responders_only(
    cast: Cast, learned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    member = signed_in(cast, "member_a")
    page = member.get("/themes/").content.decode()
    assert "Car &lt;b&gt;parking&lt;/b&gt;" in page and "<b>parking" not in page
    assert "Rename" not in page
    assert member.post(f"/themes/{learned[0]}/rename/", {"name": "Mine"}).status_code == 403
    responder = signed_in(cast, "responder_a")
    assert responder.post(f"/themes/{learned[0]}/rename/", {"name": "Food"}).status_code == 302
    with tenant_context(cast.org_a):
        assert LearnedTopic.objects.get(pk=learned[0]).name == "Food"
    long_name = responder.post(f"/themes/{learned[0]}/rename/", {"name": "x" * 200}, follow=True)
    assert "under 60 characters" in long_name.content.decode() or "at most 60" in (
        long_name.content.decode()
    )
    # Administrators may ask for the themes to be learned again now (audited).
    assert member.post("/themes/learn/").status_code == 403
    queued: list[str] = []
    monkeypatch.setattr(
        "tenants.queueing.queue_after_commit", lambda task, *args, what: queued.append(task.name)
    )
    admin = signed_in(cast, "admin_a")
    assert admin.post("/themes/learn/").status_code == 302
    assert queued == ["topics.fit"]
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="topics.asked_to_learn").exists()
    # B's staff: no themes of A's, and A's topic ids are not B's to rename.
    other = signed_in(cast, "admin_b", "org_b")
    assert "Car &lt;b&gt;" not in other.get("/themes/").content.decode()
    assert other.post(f"/themes/{learned[0]}/rename/", {"name": "Mine"}).status_code == 404


@pytest.mark.django_db
def test_the_live_dashboard_and_the_summary_show_the_learned_themes(
    cast: Cast, learned: list[int]
) -> None:
    client = signed_in(cast, "member_a")
    token = csrf_token(client, LIVE)
    start, end = (
        (timezone.localdate() - timedelta(days=10)).isoformat(),
        timezone.localdate().isoformat(),
    )
    figure = result(
        call(client, LIVE, ("learned-topics", "figure"), live_filters(start, end), token=token),
        "learned-topics",
        "figure",
    )
    labels = {label for bar in figure["data"] for label in bar["y"]}
    assert "Car &lt;b&gt;parking&lt;/b&gt;" in labels and len(labels) == 3
    assert sum(sum(bar["x"]) for bar in figure["data"]) == 90
    # The summary: the page, its CSV.
    summary = client.get(f"/reports/?start={start}&end={end}").content.decode()
    assert "Learned themes" in summary and "Car &lt;b&gt;parking&lt;/b&gt; (30 stories" in summary
    csv_text = client.get(f"/reports/summary.csv?start={start}&end={end}").content.decode()
    assert "learned themes,Car <b>parking</b>,30" in csv_text
    # B's dashboard counts none of A's.
    other = signed_in(cast, "admin_b", "org_b")
    b_token = csrf_token(other, LIVE)
    b_figure = result(
        call(other, LIVE, ("learned-topics", "figure"), live_filters(start, end), token=b_token),
        "learned-topics",
        "figure",
    )
    assert not b_figure["data"]


@pytest.mark.django_db
def test_learned_themes_are_themes_for_emerging_alerts(cast: Cast, learned: list[int]) -> None:
    with tenant_context(cast.org_a):
        today = timezone.localdate()
        found = emerging.history(today - timedelta(days=30), today + timedelta(days=1))
        learned_themes = {theme for _, theme in found.series if theme.kind == emerging.TOPIC}
        assert emerging.Theme(emerging.TOPIC, "Car <b>parking</b>") in learned_themes
        assert len(learned_themes) == 3
        assert emerging.Theme(emerging.TOPIC, "x").label == "learned theme “x”"


def test_learning_runs_each_night_in_every_organisation() -> None:
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["topics-fit"]
    assert entry["task"] == "topics.dispatch_fits"
    assert entry["schedule"].hour == {4} and entry["schedule"].minute == {40}
