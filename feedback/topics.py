"""Themes learned from an organisation's own published stories.

Each night (`topics.fit` in each organisation, or when an administrator asks) a topic model
is fitted on the organisation's published stories, in its own schema, with scikit-learn:

- **TF-IDF** over each story's title and text: English stop words and words nearly every
  story uses out ("felt", "told", "did"), words of three or
  more letters, single words and pairs, a word in at least MIN_DF stories and at most
  MAX_DF of them, sublinear term frequency.
- **NMF** (non-negative matrix factorisation, nndsvda start, fixed seed) into K topics:
  K = √(stories / 10), between MIN_TOPICS and MAX_TOPICS.
- Fitted on the latest FIT_STORIES stories of the last two years; every story of the two
  years is then placed in the topic it weighs most in, when that is at least MIN_SHARE of
  its weight (`StoryTopic`).
- Each topic is named by its top terms until staff rename it (`rename_topic`, audited). A
  rename is carried to the new night's topic whose top terms overlap the old one's most
  (at least CARRY_OVERLAP of them, Jaccard), so a name survives refits.

Nothing is downloaded at run time: the model is fitted here, from the organisation's own
stories, and what it found is stored in its schema. Fewer than MIN_STORIES stories learn
nothing (the page says so).

The topics are used by the live dashboard (dashboards/tenant_app.py), the stories summary
(dashboards/reports/summary.py) and the emerging-theme alerts (alerts/emerging.py).
`benchmarks/topics.py` measures the fit at a large trust's size.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from feedback.models import LearnedTopic, Story, StoryTopic
from feedback.signals import topics_fitted
from tenants.accounts.models import User
from tenants.audit.recording import record_audit

logger = logging.getLogger(__name__)

MIN_STORIES = 40
MIN_TOPICS, MAX_TOPICS = 4, 12
FIT_STORIES = 20_000
YEARS_READ = 2
MIN_DF = 3
MAX_DF = 0.5
MIN_SHARE = 0.3
TOP_TERMS = 8
CARRY_OVERLAP = 0.34
MAX_NAME = 60
TOKEN = r"(?u)\b[^\W\d_][^\W\d_]{2,}\b"
# Words nearly every story uses, beyond the usual English stop words: they would only blur
# the themes.
STORY_WORDS = frozenset(
    [
        "did",
        "does",
        "doing",
        "got",
        "get",
        "getting",
        "felt",
        "feel",
        "feeling",
        "told",
        "tell",
        "said",
        "say",
        "went",
        "go",
        "going",
        "really",
        "just",
        "like",
        "good",
        "lot",
        "lots",
        "day",
        "days",
        "time",
        "times",
        "thing",
        "things",
        "way",
        "want",
        "wanted",
        "know",
        "knew",
        "think",
        "thought",
        "bit",
        "came",
        "come",
        "make",
        "made",
        "took",
        "take",
    ]
)
MARKDOWN = re.compile(r"[#*_>`\[\]()]+")


class TopicError(Exception):
    """The topics cannot be changed as asked; the message says why."""


@dataclass(frozen=True)
class Fitted:
    stories: int
    topics: int
    placed: int
    seconds: float


def topic_count(stories: int) -> int:
    return max(MIN_TOPICS, min(MAX_TOPICS, round((stories / 10) ** 0.5)))


def learn(
    texts: list[str], k: int | None = None, *, fit_on: int | None = None
) -> tuple[list[list[str]], list[tuple[int, float] | None]]:
    """(each topic's top terms, each text's (topic, share) or None). Pure: texts in, topics
    out; the first `fit_on` texts fit the model, which then places all of them."""
    import numpy
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    k = k or topic_count(len(texts))
    fitting = texts[: fit_on or len(texts)]
    vectoriser = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | STORY_WORDS),
        token_pattern=TOKEN,
        ngram_range=(1, 2),
        min_df=min(MIN_DF, max(1, len(fitting) // 50)),
        max_df=MAX_DF,
        sublinear_tf=True,
        max_features=20_000,
        dtype=numpy.float32,
    )
    fitted = vectoriser.fit_transform(fitting)
    model = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=400)
    model.fit(fitted)
    words = vectoriser.get_feature_names_out()
    terms = [[str(words[i]) for i in row.argsort()[::-1][:TOP_TERMS]] for row in model.components_]
    placed: list[tuple[int, float] | None] = []
    for start in range(0, len(texts), 5_000):
        weights = model.transform(vectoriser.transform(texts[start : start + 5_000]))
        for row in weights:
            total = float(row.sum())
            best = int(row.argmax())
            share = float(row[best]) / total if total > 0 else 0.0
            placed.append((best, share) if share >= MIN_SHARE else None)
    return terms, placed


def story_text(title: str, body: str) -> str:
    return MARKDOWN.sub(" ", f"{title}\n{body}")


def fit_topics(now: datetime | None = None, k: int | None = None) -> Fitted:
    """Learn the active organisation's topics again from its published stories."""
    started = timezone.now()
    now = now or started
    rows = list(
        Story.objects.filter(published_at__gte=now - timedelta(days=365 * YEARS_READ))
        .order_by("-published_at", "-pk")
        .values_list("pk", "title", "body")
    )
    if len(rows) < MIN_STORIES:
        with transaction.atomic():
            LearnedTopic.objects.all().delete()
        return Fitted(len(rows), 0, 0, 0.0)
    terms, placed = learn(
        [story_text(title, body) for _, title, body in rows], k, fit_on=FIT_STORIES
    )
    counts = Counter(found[0] for found in placed if found is not None)
    with transaction.atomic():
        previous = [(set(t.terms), t.name) for t in LearnedTopic.objects.exclude(name="")]
        LearnedTopic.objects.all().delete()  # their stories' links with them
        topics = LearnedTopic.objects.bulk_create(
            LearnedTopic(
                number=number,
                terms=words,
                name=_carried_name(words, previous),
                stories=counts.get(number, 0),
                fitted_at=now,
            )
            for number, words in enumerate(terms)
        )
        StoryTopic.objects.bulk_create(
            (
                StoryTopic(story_id=pk, topic=topics[found[0]], weight=round(found[1], 4))
                for (pk, _, _), found in zip(rows, placed, strict=True)
                if found is not None
            ),
            batch_size=5_000,
        )
        schema = connection.schema_name
        transaction.on_commit(lambda: topics_fitted.send(sender=LearnedTopic, schema=schema))
    seconds = (timezone.now() - started).total_seconds()
    logger.info("learned %s topics from %s stories in %.1f s", len(topics), len(rows), seconds)
    return Fitted(len(rows), len(topics), sum(counts.values()), seconds)


def _carried_name(words: list[str], previous: list[tuple[set[str], str]]) -> str:
    best, name = 0.0, ""
    for terms, old_name in previous:
        overlap = len(terms & set(words)) / len(terms | set(words))
        if overlap > best:
            best, name = overlap, old_name
    return name if best >= CARRY_OVERLAP else ""


def rename_topic(
    topic: LearnedTopic, name: str, *, actor: User, request: HttpRequest | None = None
) -> LearnedTopic:
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise TopicError(f"Keep a theme's name under {MAX_NAME} characters.")
    with transaction.atomic():
        before = topic.label
        topic.name = name
        topic.save(update_fields=["name"])
        record_audit(
            "topics.renamed",
            actor=actor,
            target=topic,
            summary=f"Renamed the learned theme “{before}” to “{topic.label}”",
            request=request,
        )
        schema = connection.schema_name
        transaction.on_commit(lambda: topics_fitted.send(sender=LearnedTopic, schema=schema))
    return topic


def ask_to_learn(*, actor: User, request: HttpRequest | None = None) -> None:
    """An administrator asks for the topics to be learned again now (by a worker)."""
    from feedback.tasks import fit_topics as fit_task
    from tenants.queueing import queue_after_commit

    with transaction.atomic():
        record_audit(
            "topics.asked_to_learn",
            actor=actor,
            summary="Asked for the themes to be learned again from the stories",
            request=request,
        )
        queue_after_commit(fit_task, what="learning the themes of the stories")
