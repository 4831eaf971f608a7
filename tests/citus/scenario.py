"""Work done against the Citus cluster from a process of its own (DATABASE_URL at the
coordinator), through the product's own operations. tests/citus and benchmarks/citus.py
run it:

    python tests/citus/scenario.py provision SLUG [SLUG ...]
    python tests/citus/scenario.py publish SLUG LOG STOP_FILE [COUNT]
    python tests/citus/scenario.py atomicity SLUG

`publish` keeps telling and publishing stories about SLUG's service until STOP_FILE exists,
one line per attempt in LOG: `ok <submission> <public story>`, or `failed <submission>
<error>` followed by a retry of the same submission (a publish that failed rolled back and
left it pending; one that committed despite an error is found and logged as ok).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODERATOR_EMAIL = "moderator@citus.example"
PASSWORD = "correct-horse-battery-9"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from config.celery import app

    # What a publish queues (alert evaluation, rollups, notices) runs here, in the same
    # process, instead of waiting in the broker the rest of the suite's workers share.
    app.conf.task_always_eager = True


def provision(slugs: list[str]) -> None:
    from django_tenants.utils import schema_context, tenant_context

    from feedback.models import Service
    from feedback.moderation import grant_moderation
    from feedback.sites_and_services import create_site, save_service
    from tenants.accounts.models import User
    from tenants.provisioning import provision_organisation

    with schema_context("public"):
        if not User.objects.filter(email=MODERATOR_EMAIL).exists():
            moderator = User.objects.create_user(
                MODERATOR_EMAIL, PASSWORD, full_name="Citus Moderator", is_staff=True
            )
            grant_moderation(moderator)
        for slug in slugs:
            started = time.perf_counter()
            result = provision_organisation(
                name=f"{slug.title()} NHS Trust",
                slug=slug,
                kind="acute trust",
                admin_email=f"admin@{slug}.example",
                admin_name=f"Admin of {slug}",
                admin_password=PASSWORD,
            )
            provisioned = time.perf_counter() - started
            with tenant_context(result.organisation):
                site = create_site(name=f"{slug.title()} General", code="")
                save_service(
                    Service(site=site, name=f"{slug.title()} Ward", code="W1", type="ward")
                )
            print(
                f"provisioned {slug} {result.organisation.schema_name} {provisioned:.4f}",
                flush=True,
            )


def publish(slug: str, log_path: Path, stop_file: Path, *, limit: int = 0) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from feedback.hub.models import ServiceListing, Submission
    from feedback.moderation import Decision, publish_submission
    from tenants.accounts.models import User

    with schema_context("public"):
        moderator = User.objects.get(email=MODERATOR_EMAIL)
        listings = list(ServiceListing.objects.filter(organisation__slug=slug))
    made = 0
    with log_path.open("a") as log:

        def record(line: str) -> None:
            log.write(line + "\n")
            log.flush()

        while not stop_file.exists() and (not limit or made < limit):
            made += 1
            submission_id = None
            while submission_id is None:
                try:
                    submission_id = _story(listings, f"Story {made} about the ward")
                except Exception as error:  # noqa: BLE001 - any failure is retried and logged
                    record(f"failed-submit - {type(error).__name__}: {str(error)[:200]!r}")
                    connection.close()
                    time.sleep(0.2)
            while True:
                started = time.perf_counter()
                try:
                    published = publish_submission(
                        submission_id,
                        moderator=moderator,
                        decision=Decision(
                            criticality="mildly critical",
                            tag_keys=["what was good:kind staff"],
                            listings=listings,
                        ),
                    )
                    took = time.perf_counter() - started
                    record(f"ok {submission_id} {published.public_story.pk} {took:.4f}")
                    break
                except Exception as error:  # noqa: BLE001 - any failure is retried and logged
                    record(f"failed {submission_id} {type(error).__name__}: {str(error)[:200]!r}")
                    connection.close()
                    time.sleep(0.2)
                    # A publish may have committed although its caller saw an error.
                    with schema_context("public"):
                        submission = Submission.objects.get(pk=submission_id)
                    if submission.public_story_id:
                        record(f"ok {submission_id} {submission.public_story_id} 0")
                        break


def _story(listings: list, title: str) -> int:
    from feedback.submissions import StoryFromAuthor, submit_story

    return submit_story(
        StoryFromAuthor(
            title=title,
            what_was_good="The nurses were kind.",
            what_could_be_improved="The wait was long.",
            how_it_felt="Reassured.",
            author_role="patient",
            author_age_group="55-64",
            nickname="Pat",
            email="author@example.net",
            postcode="LS1 4AP",
            route="web",
            listings=listings,
        )
    ).pk


def atomicity(slug: str) -> None:
    """Print, as JSON, how one publish committed (the remote commands Citus issued) and
    what a publish rolled back after writing everywhere left behind."""
    from django.db import connection, transaction
    from django_tenants.utils import schema_context, tenant_context

    from feedback.hub.models import PublicStory, ServiceListing, Submission
    from feedback.models import Story
    from feedback.moderation import Decision, publish_submission
    from tenants.accounts.models import User
    from tenants.models import Organisation

    with schema_context("public"):
        moderator = User.objects.get(email=MODERATOR_EMAIL)
        listings = list(ServiceListing.objects.filter(organisation__slug=slug))
        organisation = Organisation.objects.get(slug=slug)
    decision = Decision(
        criticality="mildly critical", tag_keys=["what was good:kind staff"], listings=listings
    )

    first = _story(listings, "A story published with two-phase commit")
    notices: list[str] = []
    connection.ensure_connection()
    connection.connection.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    with connection.cursor() as cursor:
        cursor.execute("SET citus.log_remote_commands TO on")
    published = publish_submission(first, moderator=moderator, decision=decision)
    with connection.cursor() as cursor:
        cursor.execute("RESET citus.log_remote_commands")

    class Abandon(Exception):
        pass

    second = _story(listings, "A story whose publishing is abandoned")
    written: dict[str, object] = {}
    try:
        with transaction.atomic():
            abandoned = publish_submission(second, moderator=moderator, decision=decision)
            written = {
                "public_story": abandoned.public_story.pk,
                "stories": [list(s) for s in abandoned.stories],
            }
            raise Abandon
    except Abandon:
        pass
    with schema_context("public"):
        left_public = PublicStory.objects.filter(pk=written["public_story"]).exists()
        state = Submission.objects.get(pk=second).state
    with tenant_context(organisation):
        left_story = Story.objects.filter(public_id=written["public_story"]).exists()
        committed_story = Story.objects.filter(public_id=published.public_story.pk).exists()
    print(
        json.dumps(
            {
                "committed_story_in_organisation": committed_story,
                "prepared": [n for n in notices if n.startswith("issuing PREPARE TRANSACTION")],
                "commit_prepared": [n for n in notices if n.startswith("issuing COMMIT PREPARED")],
                "abandoned_written": written,
                "abandoned_left_public_story": left_public,
                "abandoned_left_story": left_story,
                "abandoned_submission_state": state,
            }
        ),
        flush=True,
    )


def main(argv: list[str]) -> None:
    setup_django()
    command, *args = argv
    if command == "provision":
        provision(args)
    elif command == "publish":
        slug, log, stop = args[:3]
        limit = int(args[3]) if len(args) > 3 else 0
        publish(slug, Path(log), Path(stop), limit=limit)
    elif command == "atomicity":
        atomicity(args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
