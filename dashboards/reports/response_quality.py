"""How good the organisation's public responses were: the quality check's verdict, stored
with each response when it was published, added up over the responses in a report's scope.

Read from the organisation's own schema (the responses live there, not in the rollups).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from dashboards.queries import Scope
from dashboards.reports.excerpts import responses_in
from dashboards.statistics import share
from feedback.models import Response
from feedback.quality import CODES, GENERIC_CODES, LABELS


@dataclass(frozen=True)
class AdviceCount:
    code: str
    label: str
    responses: int


@dataclass(frozen=True)
class ResponseQuality:
    # Responses published in the period, to stories in scope.
    responses: int
    # Of those, the ones with a stored check (history imported without one has none).
    assessed: int
    mean_score: float | None
    median_score: float | None
    # Assessed responses that only redirect or repeat a recent reply (`Assessment.is_generic`).
    generic: int
    # Each piece of advice given, with how many responses got it, most given first.
    advice: list[AdviceCount]

    @property
    def share_generic(self) -> float | None:
        return share(self.generic, self.assessed)


def advice_codes(verdict: dict) -> set[str]:
    """The advice codes of a stored verdict. Advice is stored as {"code", "message"} items;
    a bare code string is read too."""
    codes = set()
    for item in verdict.get("advice") or ():
        code = item.get("code") if isinstance(item, dict) else item
        if isinstance(code, str) and code:
            codes.add(code)
    return codes


def response_quality(scope: Scope) -> ResponseQuality:
    # `responses_in` joins through the story's services; count each response once.
    verdicts = list(
        Response.objects.filter(pk__in=responses_in(scope).values("pk")).values_list(
            "quality", flat=True
        )
    )
    return summarise(verdicts)


def summarise(verdicts: list) -> ResponseQuality:
    """The stored verdicts of some responses (None for one without a check), added up."""
    scores: list[int] = []
    given: Counter[str] = Counter()
    generic = 0
    for verdict in verdicts:
        if not isinstance(verdict, dict) or not isinstance(verdict.get("score"), int | float):
            continue
        scores.append(verdict["score"])
        codes = advice_codes(verdict)
        given.update(codes)
        generic += bool(codes & GENERIC_CODES)
    order = {code: index for index, code in enumerate(CODES)}
    ranked = sorted(given.items(), key=lambda item: (-item[1], order.get(item[0], len(order))))
    return ResponseQuality(
        responses=len(verdicts),
        assessed=len(scores),
        mean_score=statistics.fmean(scores) if scores else None,
        median_score=float(statistics.median(scores)) if scores else None,
        generic=generic,
        advice=[AdviceCount(code, LABELS.get(code, code), count) for code, count in ranked],
    )
