"""The sign-up wizard's pages on the hub. Thin: each calls one operation in wizard.py."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import stripe_api
from billing.plans import PLANS, Interval
from billing.subscriptions import BillingError
from onboarding.signup import wizard
from onboarding.signup.forms import AccountForm, AddressForm, DetailsForm, PlanForm
from onboarding.signup.models import Signup, Step
from tenants import ratelimit
from tenants.models import public_url

SESSION_KEY = "signup"
STEP_URLS = {
    Step.DETAILS: "signup:details",
    Step.ACCOUNT: "signup:account",
    Step.VERIFY: "signup:check_email",
    Step.PLAN: "signup:plan",
    Step.PAYMENT: "signup:payment",
    Step.PROVISIONING: "signup:progress",
    Step.READY: "signup:progress",
    Step.FAILED: "signup:progress",
}


def _signup(request: HttpRequest) -> Signup | None:
    token = request.session.get(SESSION_KEY)
    return Signup.objects.filter(token=token).first() if token else None


def _where(signup: Signup | None) -> HttpResponse:
    return redirect(STEP_URLS[Step(signup.step)] if signup else "signup:details")


def _limited(request: HttpRequest, name: str) -> bool:
    limit = ratelimit.public_form_limit(f"signup-{name}")
    return ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit


def _too_many() -> HttpResponse:
    return HttpResponse(
        "Too many sign-up attempts from your network in the last hour. Please try again later.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )


def _render(
    request: HttpRequest,
    template: str,
    signup: Signup | None,
    *,
    status: int = 200,
    **context: object,
) -> HttpResponse:
    current = Step(signup.step) if signup else Step.DETAILS
    steps = [(step, step.label, step == current) for step in wizard.ORDER]
    return render(request, template, {"signup": signup, "steps": steps, **context}, status=status)


def _status_of(form: object) -> int:
    """A form sent back with mistakes is a 400, as everywhere on the hub."""
    return 400 if getattr(form, "is_bound", False) and form.errors else 200


# /pricing/ is a public page, in English or Welsh (README "Welsh and other languages"): the
# plans' audiences and features as it shows them. The plans' names are product names.
_PLAN_AUDIENCES = {
    "A GP practice, hospice or care home": _("A GP practice, hospice or care home"),
    "An NHS trust": _("An NHS trust"),
    "A commissioner and up to 12 member organisations": _(
        "A commissioner and up to 12 member organisations"
    ),
}
_FEATURE_NAMES = {
    "api_access": _("API access"),
    "network_comparison": _("Network comparison"),
    "widget": _("Widget"),
}


def pricing(request: HttpRequest) -> HttpResponse:
    plans = [
        {
            "plan": plan,
            "monthly": plan.monthly_pence / 100,
            "annual": plan.annual_pence / 100,
            "audience": _PLAN_AUDIENCES.get(plan.audience, plan.audience),
            "features": [_FEATURE_NAMES.get(f, f.replace("_", " ")) for f in sorted(plan.features)],
        }
        for plan in PLANS.values()
    ]
    return render(request, "signup/pricing.html", {"plans": plans})


@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup and signup.paid_at:
        return _where(signup)
    initial = {}
    if signup:
        initial = {f: getattr(signup, f) for f in DetailsForm.base_fields}
    form = DetailsForm(request.POST or None, initial=initial)
    form.fields["slug"].help_text = (
        f"Your staff will sign in at <address>.{settings.BASE_DOMAIN}. Leave it blank to use "
        "one made from your organisation's name."
    )
    if request.method == "POST":
        if _limited(request, "details"):
            return _too_many()
        if form.is_valid():
            given = wizard.Details(**form.cleaned_data)
            try:
                if signup:
                    wizard.update_details(signup, given)
                else:
                    signup = wizard.start_signup(given)
                    request.session[SESSION_KEY] = signup.token
                plan = request.session.pop("signup_plan", None)
                if plan:
                    request.session["signup_plan"] = plan
                return redirect("signup:account")
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
    if request.GET.get("plan") in PLANS:
        request.session["signup_plan"] = [request.GET["plan"], request.GET.get("interval", "")]
    return _render(request, "signup/details.html", signup, form=form, status=_status_of(form))


@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.paid_at:
        return _where(signup)
    form = AccountForm(
        request.POST or None,
        initial={"admin_name": signup.admin_name, "admin_email": signup.admin_email},
    )
    if request.method == "POST":
        if _limited(request, "account"):
            return _too_many()
        if form.is_valid():
            try:
                wizard.save_account(
                    signup,
                    name=form.cleaned_data["admin_name"],
                    email=form.cleaned_data["admin_email"],
                    password=form.cleaned_data["password"],
                )
                return _where(signup)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    target = "admin_name" if field == "admin_name" else "password"
                    for message in messages:
                        form.add_error(target, message)
    return _render(request, "signup/account.html", signup, form=form, status=_status_of(form))


@require_http_methods(["GET", "POST"])
def check_email(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.step != Step.VERIFY:
        return _where(signup)
    sent_again = False
    if request.method == "POST":
        if _limited(request, "resend"):
            return _too_many()
        wizard.send_verification(signup)
        sent_again = True
    return _render(request, "signup/check_email.html", signup, sent_again=sent_again)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        signup = wizard.verify_email(token)
    except wizard.SignupError as exc:
        return render(request, "signup/link_problem.html", {"message": str(exc)}, status=400)
    request.session[SESSION_KEY] = signup.token
    return _where(signup)


@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.step not in (Step.PLAN, Step.PAYMENT):
        return _where(signup)
    wanted = request.session.get("signup_plan") or [signup.plan, signup.interval]
    form = PlanForm(
        request.POST or None,
        initial={"plan": wanted[0] or _default_plan(signup), "interval": wanted[1] or "monthly"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            wizard.choose_plan(signup, form.cleaned_data["plan"], form.cleaned_data["interval"])
            return redirect("signup:payment")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("plan", message)
        except wizard.SignupError as exc:
            form.add_error(None, str(exc))
    plans = wizard.plans_for(signup.kind)
    return _render(
        request, "signup/plan.html", signup, form=form, plans=plans, status=_status_of(form)
    )


def _default_plan(signup: Signup) -> str:
    return wizard.plans_for(signup.kind)[0].key


@require_http_methods(["GET", "POST"])
def payment(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.step != Step.PAYMENT:
        return _where(signup)
    problem, status = "", 200
    if request.method == "POST":
        if _limited(request, "payment"):
            return _too_many()
        try:
            url = wizard.payment_url(
                signup,
                success_url=public_url(settings.BASE_DOMAIN, reverse("signup:paid")),
                cancel_url=public_url(settings.BASE_DOMAIN, reverse("signup:payment")),
            )
            return redirect(url)
        except stripe_api.StripeUnavailable as exc:
            # Not their fault, and it passes: the same page, to try again (503).
            problem, status = str(exc), 503
        except (wizard.SignupError, BillingError, stripe_api.StripeError) as exc:
            problem, status = str(exc), 400
    chosen = PLANS[signup.plan]
    return _render(
        request,
        "signup/payment.html",
        signup,
        chosen=chosen,
        price=chosen.price(signup.interval) / 100,
        interval=Interval(signup.interval),
        problem=problem,
        status=status,
    )


def paid(request: HttpRequest) -> HttpResponse:
    """Where payment sends people back. The webhook may not have arrived yet: the progress
    page waits for it."""
    signup = _signup(request)
    if signup is None:
        return redirect("signup:details")
    wizard.note_payment(signup)
    return redirect("signup:progress")


def progress(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.step not in (
        Step.PAYMENT,
        Step.PROVISIONING,
        Step.READY,
        Step.FAILED,
    ):
        return _where(signup)
    return _render(request, "signup/progress.html", signup, status_url=reverse("signup:status"))


def status(request: HttpRequest) -> JsonResponse:
    signup = _signup(request)
    if signup is None:
        return JsonResponse({"error": "There is no sign-up in progress here."}, status=404)
    if signup.step == Step.PAYMENT:
        wizard.note_payment(signup)
        signup.refresh_from_db()
    return JsonResponse(_status(signup))


def _status(signup: Signup) -> dict[str, object]:
    ready = signup.step == Step.READY and signup.organisation is not None
    return {
        "step": signup.step,
        "label": Step(signup.step).label,
        "progress": signup.progress,
        "note": signup.progress_note,
        "error": signup.error,
        "workspace": signup.organisation.workspace_url("/accounts/login/") if ready else None,
    }


@require_POST
def retry(request: HttpRequest) -> HttpResponse:
    signup = _signup(request)
    if signup is None or signup.step != Step.FAILED:
        return _where(signup)
    form = AddressForm(request.POST)
    if form.is_valid():
        try:
            wizard.change_address_after_failure(signup, form.cleaned_data["slug"])
        except ValidationError as exc:
            return _render(
                request,
                "signup/progress.html",
                signup,
                address_problem=" ".join(exc.messages),
                status_url=reverse("signup:status"),
                status=400,
            )
    else:
        wizard.retry_provisioning(signup)
    return redirect("signup:progress")
