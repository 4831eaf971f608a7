"""The learned themes' page (feedback/topics.py): what the stories are about, in the
organisation's own words once staff rename them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from feedback import topics
from feedback.models import LearnedTopic, Story
from feedback.service_limits import limited_services
from tenants.accounts.access import require_role, role_required
from tenants.accounts.models import Role

EXAMPLES = 3


class RenameForm(forms.Form):
    name = forms.CharField(
        max_length=topics.MAX_NAME, required=False, label="Name (empty: named by its words)"
    )


@role_required(Role.MEMBER)
def themes_page(request: HttpRequest) -> HttpResponse:
    """Every theme, with its stories' count and a few examples. A person limited to some
    services (feedback/service_limits.py) sees the themes of their services' stories, counted
    and shown from those only, and renames none (the names are the organisation's)."""
    within = limited_services(request.user)
    learned = list(LearnedTopic.objects.all())
    examples = {}
    for topic in learned:
        stories = Story.objects.filter(topic_link__topic=topic)
        if within is not None:
            stories = stories.filter(services__in=within).distinct()
            topic.stories = stories.count()
        examples[topic.pk] = list(
            stories.order_by("-topic_link__weight", "-published_at").only("pk", "title")[:EXAMPLES]
        )
    shown = [t for t in learned if within is None or t.stories]
    return render(
        request,
        "feedback/topics/page.html",
        {
            "topics": [(t, examples[t.pk]) for t in shown],
            "fitted_at": learned[0].fitted_at if learned else None,
            "min_stories": topics.MIN_STORIES,
            "can_rename": request.user.has_role(Role.RESPONDER) and within is None,
        },
    )


@require_POST
@role_required(Role.RESPONDER)
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    topic = get_object_or_404(LearnedTopic, pk=pk)
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("feedback:themes")
    try:
        topics.rename_topic(topic, form.cleaned_data["name"], actor=request.user, request=request)
    except topics.TopicError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Renamed: {topic.label}.")
    return redirect("feedback:themes")


@require_POST
@role_required(Role.MEMBER)
def learn_now(request: HttpRequest) -> HttpResponse:
    require_role(request, Role.ADMINISTRATOR)
    topics.ask_to_learn(actor=request.user, request=request)
    messages.success(request, "Asked: the themes will be learned again in a minute or two.")
    return redirect("feedback:themes")
