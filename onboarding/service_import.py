"""Importing an organisation's sites and services from a CSV file.

The whole file is checked before anything is written, and every problem is reported with
its line number and what to change. A file with no problems is written in one transaction
through feedback/sites_and_services.py (`create_site`, `save_service`), so the hub's
directory moves with it and each site and service gets its audit row; nothing is ever half
imported.

Re-importing is safe. A service whose code already exists is updated (name, type and the
service it is part of) rather than duplicated; a service without a code is matched by its
name at the same site. Sites are matched by code, or by name when the row gives no code. A
row that would change nothing is counted as unchanged. A file may not move a service to
another site, nor rename a site: those rows are reported as errors.

Runs inside the organisation's schema.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from feedback.choices import ServiceType
from feedback.models import Service, Site
from feedback.sites_and_services import create_site, save_service
from onboarding.models import ImportState, ServiceImport
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.queueing import queue_after_commit

logger = logging.getLogger(__name__)

COLUMNS = (
    "site_name",
    "site_code",
    "service_name",
    "service_code",
    "service_type",
    "parent_service_code",
)
REQUIRED_COLUMNS = ("site_name", "service_name", "service_type")
# Files with more data rows than this are imported by a worker, with a progress bar.
INLINE_MAX_ROWS = 200
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
# A worker's claim on an import older than this is taken to mean the worker died.
STALE_CLAIM = timedelta(seconds=settings.IMPORT_STALE_CLAIM_SECONDS)
# An import tried and interrupted (out of time, or its worker died) is run again by the
# sweeper, until this long after it was uploaded: then it fails, asking for smaller files.
GIVE_UP_AFTER = timedelta(hours=1)
NAME_LENGTH = 200
CODE_LENGTH = 12


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


@dataclass
class ImportRow:
    line: int
    site_name: str
    site_code: str
    service_name: str
    service_code: str
    service_type: str
    parent_code: str
    # Filled in by checking: which site and existing service the row means.
    site_key: str = ""
    existing_site: Site | None = None
    existing_service: Service | None = None


@dataclass
class CheckedFile:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Outcome:
    sites_created: int
    services_created: int
    services_updated: int
    services_unchanged: int


class ImportInvalid(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


# --- reading ------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, list[RowError]]:
    """The file's text, or why it cannot be read. Excel's UTF-8 byte-order mark is allowed."""
    if len(data) > MAX_BYTES:
        return "", [
            RowError(0, f"The file is over {MAX_BYTES // (1024 * 1024)} MB: split it in two.")
        ]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", [
            RowError(
                line,
                "This line is not UTF-8 text. Save the file as “CSV UTF-8 (comma delimited)” "
                "and try again.",
            )
        ]


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def read_rows(text: str) -> CheckedFile:
    """Parse the CSV text into rows, with the problems each row has on its own."""
    checked = CheckedFile()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        checked.errors.append(RowError(1, f"The header cannot be read as CSV ({exc})."))
        return checked
    if header is None or not any(cell.strip() for cell in header):
        checked.errors.append(
            RowError(
                1, f"The file is empty. The first line names the columns: {', '.join(COLUMNS)}."
            )
        )
        return checked
    columns = [_normalise_header(cell) for cell in header]
    unknown = [name for name in columns if name and name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if unknown:
        checked.errors.append(
            RowError(
                1,
                f"Unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
                f"The columns are {', '.join(COLUMNS)}.",
            )
        )
    if missing:
        checked.errors.append(
            RowError(
                1,
                f"The header needs the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}.",
            )
        )
    if repeated:
        checked.errors.append(RowError(1, f"The column {', '.join(repeated)} appears twice."))
    if checked.errors:
        return checked

    previous_end = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            checked.errors.append(
                RowError(previous_end + 1, f"This line cannot be read as CSV ({exc}).")
            )
            return checked
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns) :]):
            checked.errors.append(
                RowError(
                    line,
                    f"This line has {len(record)} values but the header names {len(columns)} "
                    "columns. Put a value containing a comma in double quotes.",
                )
            )
            continue
        values = dict(zip(columns, [cell.strip() for cell in record], strict=False))
        row = ImportRow(
            line=line,
            site_name=values.get("site_name", ""),
            site_code=values.get("site_code", "").upper(),
            service_name=values.get("service_name", ""),
            service_code=values.get("service_code", "").upper(),
            service_type=values.get("service_type", ""),
            parent_code=values.get("parent_service_code", "").upper(),
        )
        checked.errors += _row_errors(row)
        checked.rows.append(row)
        if len(checked.rows) > MAX_ROWS:
            checked.errors.append(
                RowError(line, f"A file may have at most {MAX_ROWS} rows: split it.")
            )
            return checked
    if not checked.rows and not checked.errors:
        checked.errors.append(RowError(2, "The file has a header but no rows of services."))
    return checked


def _service_type(value: str) -> str | None:
    wanted = value.strip().lower()
    for choice in ServiceType:
        if wanted in (choice.value, choice.label.lower()):
            return choice.value
    return None


def _row_errors(row: ImportRow) -> list[RowError]:
    errors = []

    def problem(message: str) -> None:
        errors.append(RowError(row.line, message))

    if not row.site_name:
        problem("site_name is empty: give the site's name (a hospital, a health centre).")
    elif len(row.site_name) > NAME_LENGTH:
        problem(f"site_name is longer than {NAME_LENGTH} characters: shorten it.")
    if not row.service_name:
        problem("service_name is empty: give the service's name.")
    elif len(row.service_name) > NAME_LENGTH:
        problem(f"service_name is longer than {NAME_LENGTH} characters: shorten it.")
    for column, code in (
        ("site_code", row.site_code),
        ("service_code", row.service_code),
        ("parent_service_code", row.parent_code),
    ):
        if len(code) > CODE_LENGTH:
            problem(f"{column} “{code}” is longer than {CODE_LENGTH} characters.")
        elif code and not all(c.isalnum() or c in "-_/" for c in code):
            problem(f"{column} “{code}” may hold only letters, digits, - _ and /.")
    if not row.service_type:
        problem(f"service_type is empty: use one of {', '.join(ServiceType.values)}.")
    else:
        kind = _service_type(row.service_type)
        if kind is None:
            problem(
                f"service_type “{row.service_type}” is not one we know: use one of "
                f"{', '.join(ServiceType.values)}."
            )
        else:
            row.service_type = kind
    if row.parent_code and row.parent_code == row.service_code:
        problem(
            "parent_service_code is the service's own code: a service cannot sit inside itself."
        )
    return errors


# --- checking against each other and the organisation's services --------------------------------


def check_rows(checked: CheckedFile) -> CheckedFile:
    """Check the rows against each other and against the sites and services that exist."""
    if any(error.line <= 1 for error in checked.errors) or not checked.rows:
        return checked  # the file itself is unreadable: the rows mean nothing yet
    rows = checked.rows
    across: list[RowError] = []
    _resolve_sites(rows, across)
    _resolve_services(rows, across)
    _check_parents(rows, across)
    # A row with problems of its own is reported for those; what it does to the others
    # is worked out again once it is fixed.
    flagged = {error.line for error in checked.errors}
    checked.errors += [error for error in across if error.line not in flagged]
    checked.errors.sort(key=lambda e: e.line)
    if not checked.errors:
        checked.rows = _parents_first(rows)
    return checked


def _resolve_sites(rows: list[ImportRow], errors: list[RowError]) -> None:
    name_by_code: dict[str, tuple[str, int]] = {}
    code_by_name: dict[str, tuple[str, int]] = {}
    for row in rows:
        name = row.site_name.casefold()
        if row.site_code:
            seen = name_by_code.setdefault(row.site_code, (row.site_name, row.line))
            if seen[0].casefold() != name:
                errors.append(
                    RowError(
                        row.line,
                        f"site_code {row.site_code} is given to “{seen[0]}” on line {seen[1]} "
                        f"and to “{row.site_name}” here: one code, one site.",
                    )
                )
            other = code_by_name.setdefault(name, (row.site_code, row.line))
            if other[0] != row.site_code:
                errors.append(
                    RowError(
                        row.line,
                        f"The site “{row.site_name}” has code {other[0]} on line {other[1]} and "
                        f"{row.site_code} here: give it one code.",
                    )
                )
    existing = list(Site.objects.all())
    by_code = {site.code: site for site in existing if site.code}
    by_name: dict[str, list[Site]] = {}
    for site in existing:
        by_name.setdefault(site.name.casefold(), []).append(site)
    for row in rows:
        name = row.site_name.casefold()
        code = row.site_code or code_by_name.get(name, ("", 0))[0]
        row.site_key = f"code:{code}" if code else f"name:{name}"
        if code:
            site = by_code.get(code)
            if site is not None and site.name.casefold() != name:
                errors.append(
                    RowError(
                        row.line,
                        f"site_code {code} already belongs to the site “{site.name}”. Use that "
                        "name, or a different code.",
                    )
                )
                continue
            if site is None and by_name.get(name):
                named = by_name[name][0]
                errors.append(
                    RowError(
                        row.line,
                        f"The site “{named.name}” is already listed with the code "
                        f"{named.code}: use {named.code}."
                        if named.code
                        else f"The site “{named.name}” is already listed without a code: leave "
                        "site_code empty on its rows (an import does not give sites codes).",
                    )
                )
                continue
            row.existing_site = site
        else:
            matches = by_name.get(name, [])
            if len(matches) > 1:
                errors.append(
                    RowError(
                        row.line,
                        f"There are {len(matches)} sites called “{row.site_name}”: give the "
                        "site_code to say which.",
                    )
                )
                continue
            row.existing_site = matches[0] if matches else None
            if row.existing_site is not None and row.existing_site.code:
                row.site_key = f"code:{row.existing_site.code}"


def _resolve_services(rows: list[ImportRow], errors: list[RowError]) -> None:
    existing = list(Service.objects.select_related("site"))
    by_code = {s.code: s for s in existing if s.code}
    first_line_of_code: dict[str, int] = {}
    first_line_of_name: dict[tuple[str, str], int] = {}
    first_line_of_service: dict[int, int] = {}
    for row in rows:
        if row.service_code:
            first = first_line_of_code.setdefault(row.service_code, row.line)
            if first != row.line:
                errors.append(
                    RowError(
                        row.line,
                        f"service_code {row.service_code} is also on line {first}: each service "
                        "needs its own code (or remove the repeated row).",
                    )
                )
                continue
        else:
            key = (row.site_key, row.service_name.casefold())
            first = first_line_of_name.setdefault(key, row.line)
            if first != row.line:
                errors.append(
                    RowError(
                        row.line,
                        f"“{row.service_name}” at “{row.site_name}” is also on line {first}: "
                        "give each a service_code, or remove the repeated row.",
                    )
                )
                continue
        if row.service_code and row.service_code in by_code:
            service = by_code[row.service_code]
            if row.existing_site is None or service.site_id != row.existing_site.pk:
                errors.append(
                    RowError(
                        row.line,
                        f"service_code {row.service_code} belongs to “{service.name}” at "
                        f"“{service.site.name}”. A service cannot move to another site by "
                        "import: use that site, or a different code.",
                    )
                )
                continue
            row.existing_service = service
        elif row.existing_site is not None:
            matches = [
                s
                for s in existing
                if s.site_id == row.existing_site.pk
                and s.name.casefold() == row.service_name.casefold()
                and (not row.service_code or not s.code)
            ]
            if len(matches) > 1:
                errors.append(
                    RowError(
                        row.line,
                        f"“{row.site_name}” has {len(matches)} services called "
                        f"“{row.service_name}”: give the service_code to say which.",
                    )
                )
                continue
            row.existing_service = matches[0] if matches else None
        if row.existing_service is not None:
            first = first_line_of_service.setdefault(row.existing_service.pk, row.line)
            if first != row.line:
                errors.append(
                    RowError(
                        row.line,
                        f"Line {first} already changes the service “{row.existing_service.name}”"
                        ": remove one of the two rows.",
                    )
                )


def _check_parents(rows: list[ImportRow], errors: list[RowError]) -> None:
    """Each parent exists (in the file or already), is at the same site, and no chain of
    parents goes round in a circle."""
    existing = list(Service.objects.select_related("site"))
    existing_by_code = {s.code: s for s in existing if s.code}
    rows_by_code = {row.service_code: row for row in rows if row.service_code}

    def node_of_service(service: Service) -> str:
        return f"code:{service.code}" if service.code else f"pk:{service.pk}"

    # Every service's parent, as the file would leave it.
    parent_of: dict[str, str | None] = {}
    by_pk = {s.pk: s for s in existing}
    for service in existing:
        parent = by_pk.get(service.parent_id) if service.parent_id else None
        parent_of[node_of_service(service)] = node_of_service(parent) if parent else None
    row_node: dict[int, str] = {}
    for row in rows:
        if row.existing_service is not None:
            node = node_of_service(row.existing_service)
        elif row.service_code:
            node = f"code:{row.service_code}"
        else:
            node = f"line:{row.line}"
        row_node[row.line] = node
        parent_of[node] = f"code:{row.parent_code}" if row.parent_code else None

    for row in rows:
        if not row.parent_code:
            continue
        in_file = rows_by_code.get(row.parent_code)
        if in_file is not None:
            if in_file.site_key != row.site_key:
                errors.append(
                    RowError(
                        row.line,
                        f"The parent service {row.parent_code} (line {in_file.line}) is at "
                        f"“{in_file.site_name}”, not “{row.site_name}”: a service and the "
                        "service it is part of must be at the same site.",
                    )
                )
                continue
        elif row.parent_code in existing_by_code:
            parent = existing_by_code[row.parent_code]
            if row.existing_site is None or parent.site_id != row.existing_site.pk:
                errors.append(
                    RowError(
                        row.line,
                        f"The parent service {row.parent_code} (“{parent.name}”) is at "
                        f"“{parent.site.name}”, not “{row.site_name}”: a service and the "
                        "service it is part of must be at the same site.",
                    )
                )
                continue
        else:
            errors.append(
                RowError(
                    row.line,
                    f"parent_service_code {row.parent_code} is not the code of any service, "
                    "in this file or already listed: check the code, or add that service.",
                )
            )
            continue
        start = row_node[row.line]
        chain, node = [start], parent_of.get(start)
        while node is not None and node not in chain:
            chain.append(node)
            node = parent_of.get(node)
        if node == start:
            names = " → ".join(n.split(":", 1)[1] for n in [*chain, start])
            errors.append(
                RowError(
                    row.line,
                    f"The parent services go round in a circle ({names}): one of them must "
                    "not be part of another.",
                )
            )


def _parents_first(rows: list[ImportRow]) -> list[ImportRow]:
    rows_by_code = {row.service_code: row for row in rows if row.service_code}

    def depth(row: ImportRow) -> int:
        steps, parent = 0, rows_by_code.get(row.parent_code)
        while parent is not None and steps <= len(rows):
            steps += 1
            parent = rows_by_code.get(parent.parent_code)
        return steps

    return sorted(rows, key=lambda row: (depth(row), row.line))


def check_file(data: bytes) -> CheckedFile:
    text, errors = decode(data)
    if errors:
        return CheckedFile(errors=errors)
    return check_rows(read_rows(text))


# --- writing ------------------------------------------------------------------------------


def apply_rows(
    rows: list[ImportRow],
    *,
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Write checked rows (parents first) in one transaction. A row the models still refuse
    (someone changed the services since the check) rolls everything back as ImportInvalid."""
    sites: dict[str, Site] = {}
    services_by_code = {s.code: s for s in Service.objects.exclude(code="")}
    created = updated = unchanged = sites_created = 0
    every = max(1, len(rows) // 50)
    with transaction.atomic():
        for done, row in enumerate(rows, start=1):
            try:
                site = sites.get(row.site_key) or row.existing_site
                if site is None:
                    site = create_site(name=row.site_name, code=row.site_code, actor=actor)
                    sites_created += 1
                sites[row.site_key] = site
                parent = services_by_code.get(row.parent_code) if row.parent_code else None
                service = row.existing_service
                if service is not None and (
                    service.name == row.service_name
                    and service.type == row.service_type
                    and service.parent_id == (parent.pk if parent else None)
                    and (not row.service_code or service.code == row.service_code)
                ):
                    unchanged += 1
                else:
                    is_new = service is None
                    service = service or Service(site=site)
                    service.name = row.service_name
                    service.type = row.service_type
                    service.parent = parent
                    if row.service_code:
                        service.code = row.service_code
                    save_service(service, actor=actor)
                    created, updated = created + is_new, updated + (not is_new)
                if service.code:
                    services_by_code[service.code] = service
            except ValidationError as exc:
                raise ImportInvalid([RowError(row.line, " ".join(exc.messages))]) from exc
            except IntegrityError as exc:
                # Someone added the same code while this file was going in.
                raise ImportInvalid(
                    [
                        RowError(
                            row.line,
                            "The services changed while this file was being imported "
                            "(a code on this line was taken): upload it again.",
                        )
                    ]
                ) from exc
            if progress is not None and (done % every == 0 or done == len(rows)):
                progress(done)
    return Outcome(sites_created, created, updated, unchanged)


# --- the import, as staff ask for it ------------------------------------------------------------


def import_services(
    *, data: bytes, filename: str, actor: User, request: HttpRequest | None = None
) -> ServiceImport:
    """Check the file; import it now (small), or queue it for a worker (large).

    An invalid file writes nothing: the ServiceImport returned is unsaved, with its errors.
    """
    filename = (filename or "services.csv")[:255]
    checked = check_file(data)
    if not checked.is_valid:
        return ServiceImport(
            filename=filename,
            state=ImportState.INVALID,
            total_rows=len(checked.rows),
            errors=[e.as_dict() for e in checked.errors],
        )
    if len(checked.rows) > INLINE_MAX_ROWS:
        return _queue(checked, data, filename=filename, actor=actor, request=request)
    try:
        with transaction.atomic():
            record = ServiceImport.objects.create(
                created_by=actor,
                filename=filename,
                state=ImportState.RUNNING,
                total_rows=len(checked.rows),
                claimed_at=timezone.now(),
            )
            outcome = apply_rows(checked.rows, actor=actor)
            _finish(record, outcome, request=request)
    except ImportInvalid as exc:
        return ServiceImport(
            filename=filename,
            state=ImportState.INVALID,
            total_rows=len(checked.rows),
            errors=[e.as_dict() for e in exc.errors],
        )
    return record


@transaction.atomic
def _queue(
    checked: CheckedFile,
    data: bytes,
    *,
    filename: str,
    actor: User,
    request: HttpRequest | None,
) -> ServiceImport:
    from onboarding.tasks import run_service_import

    record = ServiceImport.objects.create(
        created_by=actor,
        filename=filename,
        state=ImportState.QUEUED,
        total_rows=len(checked.rows),
        content=decode(data)[0],
    )
    record_audit(
        "services.import_queued",
        actor=actor,
        target=record,
        summary=f"Started importing {len(checked.rows)} services from {filename}",
        request=request,
    )
    # The broker down: the import waits, queued, for the sweeper (requeue_lost_imports).
    queue_after_commit(run_service_import, record.pk, what="a service import")
    return record


def _finish(record: ServiceImport, outcome: Outcome, *, request: HttpRequest | None) -> None:
    record.state = ImportState.DONE
    record.finished_at = timezone.now()
    record.content = ""
    record.sites_created = outcome.sites_created
    record.services_created = outcome.services_created
    record.services_updated = outcome.services_updated
    record.services_unchanged = outcome.services_unchanged
    record.save()
    record_audit(
        "services.imported",
        actor=record.created_by,
        target=record,
        summary=(
            f"Imported {record.filename}: {outcome.sites_created} sites added, "
            f"{outcome.services_created} services added, {outcome.services_updated} changed, "
            f"{outcome.services_unchanged} unchanged"
        ),
        detail={
            "sites_created": outcome.sites_created,
            "services_created": outcome.services_created,
            "services_updated": outcome.services_updated,
            "services_unchanged": outcome.services_unchanged,
        },
        request=request,
    )


# --- the worker's side -----------------------------------------------------------------------


def progress_key(import_id: int) -> str:
    # The cache prefixes every key with the active schema, so ids never collide.
    return f"onboarding:service-import:{import_id}:done"


def rows_done(record: ServiceImport) -> int:
    if record.state == ImportState.DONE:
        return record.total_rows
    if record.state == ImportState.RUNNING:
        return min(int(cache.get(progress_key(record.pk)) or 0), record.total_rows)
    return 0


def claim_import(import_id: int) -> ServiceImport | None:
    """Take a queued import (or one whose worker died) for this worker; None if another has
    it or it is finished."""
    now = timezone.now()
    claimed = ServiceImport.objects.filter(pk=import_id, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING, claimed_at=now
    ) or ServiceImport.objects.filter(
        pk=import_id, state=ImportState.RUNNING, claimed_at__lt=now - STALE_CLAIM
    ).update(claimed_at=now)
    return ServiceImport.objects.filter(pk=import_id).first() if claimed else None


def run_import(import_id: int) -> str:
    """Run a queued import: check again (the services may have changed since), then write
    it all in one transaction, reporting progress through the cache as it goes."""
    record = claim_import(import_id)
    if record is None:
        return "not claimed"
    key = progress_key(record.pk)
    cache.set(key, 0, timeout=60 * 60)
    checked = check_rows(read_rows(record.content))
    if not checked.is_valid:
        return _fail(record, ImportState.INVALID, checked.errors)
    try:
        with transaction.atomic():
            outcome = apply_rows(
                checked.rows,
                actor=record.created_by,
                progress=lambda done: cache.set(key, done, timeout=60 * 60),
            )
            _finish(record, outcome, request=None)
    except ImportInvalid as exc:
        return _fail(record, ImportState.INVALID, exc.errors)
    except (SoftTimeLimitExceeded, InterfaceError, OperationalError):
        # Out of time (a slow database, a lock held long), or the database connection lost:
        # rolled back, nothing written. Queued again for the sweeper, rather than failed for
        # good (on a new connection: the dead one was closed with its transaction).
        release_import(record.pk)
        raise
    except Exception:
        logger.exception("service import %s failed", record.pk)
        return _fail(
            record,
            ImportState.FAILED,
            [RowError(0, "The import stopped with an error: nothing was imported. Try again.")],
        )
    return "done"


def _fail(record: ServiceImport, state: ImportState, errors: list[RowError]) -> str:
    ServiceImport.objects.filter(pk=record.pk).update(
        state=state,
        errors=[e.as_dict() for e in errors],
        finished_at=timezone.now(),
        content="",
    )
    return str(state)


def release_import(import_id: int) -> bool:
    """Put a running import back in the queue, its file kept, for the sweeper to run again:
    it was cut short, and its one transaction rolled back, so nothing of it was written. Its
    claim time stays, so its page can say it was interrupted."""
    return bool(
        ServiceImport.objects.filter(pk=import_id, state=ImportState.RUNNING).update(
            state=ImportState.QUEUED
        )
    )


def is_interrupted(record: ServiceImport) -> bool:
    """Started once and cut short (out of time), now waiting to run again."""
    return record.state == ImportState.QUEUED and record.claimed_at is not None


def status_label(record: ServiceImport) -> str:
    """What the import's page says of it."""
    if is_interrupted(record):
        return (
            "Interrupted before it finished, so nothing is imported yet: "
            "it will start again by itself within a few minutes"
        )
    return record.get_state_display()


def requeue_lost_imports(*, older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """The ids to send again: imports still queued long after they were made (their task
    message was lost), ones queued again after running out of time, and running ones whose
    worker died. One tried and cut short until GIVE_UP_AFTER is failed instead."""
    now = timezone.now()
    lost = Q(
        Q(created_at__lt=now - older_than) | Q(claimed_at__isnull=False),
        state=ImportState.QUEUED,
    ) | Q(state=ImportState.RUNNING, claimed_at__lt=now - STALE_CLAIM)
    given_up = [
        RowError(
            0,
            "The import was cut short each time it ran, so it was stopped: nothing was "
            "imported. Split the file into smaller ones and upload them one by one.",
        ).as_dict()
    ]
    ServiceImport.objects.filter(
        lost, claimed_at__isnull=False, created_at__lt=now - GIVE_UP_AFTER
    ).update(state=ImportState.FAILED, errors=given_up, finished_at=now, content="")
    return list(ServiceImport.objects.filter(lost).order_by("pk").values_list("pk", flat=True))
