"""The committee pack's learned themes: found in the provider's published stories of the
period by the method of each organisation's learned themes, named by their words, only those
of 8 or more stories; on the page and in the CSV, and nothing when there are too few."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.filters import DEFAULT_DAYS
from dashboards.reports.committee import committee_pack
from feedback.publishing import StoryToPublish, import_published_stories
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import Cast, client_for, sign_in
from tests.feedback.test_topics import PLANTS, corpus

pytestmark = pytest.mark.django_db
PLANTED = {name: PLANTS[name] for name in ("food", "parking", "call bells")}


@pytest.fixture
def network(cast: Cast):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Learned Themes Network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    return network


def publish_for_b(cast: Cast, texts: list[str]) -> None:
    now = timezone.now()
    import_published_stories(
        [
            StoryToPublish(
                title=f"Story {n}: " + " ".join(text.split()[:4]),
                body=text,
                criticality="mildly critical",
                author_role="patient",
                author_age_group="55-64",
                submission_route="web",
                submitted_at=now - timedelta(days=2, hours=n % 24),
                published_at=now - timedelta(days=2, hours=n % 24),
                listings=[cast.ward_b],
            )
            for n, text in enumerate(texts)
        ]
    )


def test_the_pack_names_the_themes_learned_from_the_providers_stories(
    cast: Cast,
    network,  # noqa: ANN001
) -> None:
    texts, _ = corpus(11, per_topic=20, plants=PLANTED)
    publish_for_b(cast, texts)
    today = timezone.localdate()
    pack = committee_pack(network, cast.org_b, today - timedelta(days=DEFAULT_DAYS - 1), today)
    assert pack.learned and all(t.stories >= 8 for t in pack.learned)
    # Each planted topic leads a learned theme's name.
    names = " ".join(t.label for t in pack.learned)
    for vocabulary in PLANTED.values():
        assert any(word in names for word in vocabulary)
    assert sum(t.stories for t in pack.learned) <= 60
    lead = client_for(cast.org_a)
    assert sign_in(lead, cast.member_a.email).status_code == 302
    url = f"/reports/committee/?network={network.pk}&provider={cast.org_b.pk}"
    page = lead.get(url).content.decode()
    assert "Learned themes" in page and f"<strong>{pack.learned[0].label}</strong>" in page
    rows = list(
        csv.reader(
            io.StringIO(lead.get(url.replace("committee/", "committee.csv")).content.decode())
        )
    )
    assert any(r[1] == f"learned theme: {pack.learned[0].label}" for r in rows)


def test_too_few_stories_learn_no_theme_for_the_pack(
    cast: Cast,
    network,  # noqa: ANN001
) -> None:
    texts, _ = corpus(12, per_topic=10, plants=PLANTED)
    publish_for_b(cast, texts)
    today = timezone.localdate()
    pack = committee_pack(network, cast.org_b, today - timedelta(days=DEFAULT_DAYS - 1), today)
    assert pack.learned == []
