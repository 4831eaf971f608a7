"""Billing pages: the workspace's Billing page (administrators), the hub's local card page
and Stripe's webhook endpoint (hub)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import stripe_api
from billing.checkout import pay_with_local_card, portal_url, read_local_payment, start_payment
from billing.forms import CancelForm, LocalCardForm, PlanForm
from billing.models import Subscription, SubscriptionStatus
from billing.plans import PLANS, Interval, format_pence, suggested_plan
from billing.seats import active_staff_count, network_member_count
from billing.subscriptions import (
    BillingError,
    cancel_subscription,
    change_plan,
    check_with_stripe,
    resume_subscription,
    subscription_for,
)
from billing.webhooks import MalformedEvent, receive_event
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import request_standing
from tenants.models import public_url

# Where the Billing page's forms may send the browser (Content-Security-Policy form-action
# also covers the redirect after a POST).
STRIPE_HOSTED_ORIGINS = ["https://checkout.stripe.com", "https://billing.stripe.com"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- the workspace's Billing page ----------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def overview(request: HttpRequest) -> HttpResponse:
    organisation = request.tenant
    row = subscription_for(organisation)
    standing = request_standing(request)
    plan = PLANS.get(row.plan) if row else None
    networks = list(organisation.led_networks.all())
    if request.GET.get("paid") == "1":
        messages.info(
            request,
            "Thank you. Stripe is confirming the payment; this page shows it within a minute.",
        )
    current_plan = plan or suggested_plan(organisation.kind)
    if stripe_api.uses_local_server():
        request.csp_extra = {"form-action": [_origin(public_url(settings.BASE_DOMAIN))]}
    else:
        request.csp_extra = {"form-action": STRIPE_HOSTED_ORIGINS}
    return render(
        request,
        "billing/overview.html",
        {
            "row": row,
            "standing": standing,
            "plan": plan,
            "price": format_pence(plan.price(row.interval)) if plan and row.interval else "",
            "plans": [
                {
                    "plan": p,
                    "monthly": format_pence(p.monthly_pence),
                    "annual": format_pence(p.annual_pence),
                    "suggested": p.key == suggested_plan(organisation.kind).key,
                }
                for p in PLANS.values()
            ],
            "plan_form": PlanForm(
                initial={"plan": current_plan.key, "interval": row.interval if row else "monthly"}
            ),
            "cancel_form": CancelForm(),
            "seats_used": active_staff_count(organisation),
            "seats_limit": plan.staff_seats if plan and standing.plan_name else None,
            "networks": [{"network": n, "members": network_member_count(n)} for n in networks],
            "members_limit": plan.network_members if plan and standing.plan_name else None,
            "invoices": list(row.invoices.all()[:24]) if row else [],
            "can_pay": row is None or not row.is_live or row.status == SubscriptionStatus.PAST_DUE,
            "is_live": bool(row and row.is_live),
            "real_stripe": not stripe_api.uses_local_server(),
            "has_customer": bool(row and row.stripe_customer_id),
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    return redirect("billing:overview")


def _stripe_unreachable(request: HttpRequest, what: str) -> HttpResponse:
    """Stripe could not be reached: the Billing page again, saying what did not happen, as
    a 503 (the fault is not the person's, and passes: they try again)."""
    messages.error(request, what)
    response = overview(request)
    response.status_code = 503
    return response


@require_POST
@role_required(Role.ADMINISTRATOR)
def pay(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the plans and monthly or annual.")
        return _back(request)
    organisation = request.tenant
    try:
        url = start_payment(
            organisation,
            form.cleaned_data["plan"],
            form.cleaned_data["interval"],
            success_url=organisation.workspace_url("/billing/?paid=1"),
            cancel_url=organisation.workspace_url("/billing/"),
            actor=request.user,
            request=request,
        )
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(request, str(exc))
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
        return _back(request)
    return HttpResponseRedirect(url)


@require_POST
@role_required(Role.ADMINISTRATOR)
def change(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the plans and monthly or annual.")
        return _back(request)
    try:
        row = change_plan(
            request.tenant,
            form.cleaned_data["plan"],
            form.cleaned_data["interval"],
            actor=request.user,
            request=request,
        )
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(
            request, f"Your plan has not changed and nothing was charged. {exc}"
        )
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"You are now on the {row.get_plan_display()} plan, paid "
            f"{Interval(row.interval).label.lower()}.",
        )
    return _back(request)


@require_POST
@role_required(Role.ADMINISTRATOR)
def cancel(request: HttpRequest) -> HttpResponse:
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose when the subscription should end.")
        return _back(request)
    now = form.cleaned_data["when"] == "now"
    try:
        cancel_subscription(
            request.tenant, at_period_end=not now, actor=request.user, request=request
        )
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(request, f"The subscription has not been cancelled. {exc}")
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            "The subscription is cancelled; the workspace is now read-only."
            if now
            else "The subscription will end at the end of the period already paid for.",
        )
    return _back(request)


@require_POST
@role_required(Role.ADMINISTRATOR)
def resume(request: HttpRequest) -> HttpResponse:
    try:
        resume_subscription(request.tenant, actor=request.user, request=request)
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(request, f"The subscription is still set to end. {exc}")
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The subscription carries on.")
    return _back(request)


@require_POST
@role_required(Role.ADMINISTRATOR)
def refresh(request: HttpRequest) -> HttpResponse:
    try:
        applied = check_with_stripe(request.tenant, actor=request.user, request=request)
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(request, f"Nothing was checked. {exc}")
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            "Checked with Stripe: " + ("updated." if applied.changed else "nothing had changed."),
        )
    return _back(request)


@require_POST
@role_required(Role.ADMINISTRATOR)
def portal(request: HttpRequest) -> HttpResponse:
    try:
        url = portal_url(request.tenant, request.tenant.workspace_url("/billing/"))
    except stripe_api.StripeUnavailable as exc:
        return _stripe_unreachable(request, str(exc))
    except (BillingError, stripe_api.StripeError) as exc:
        messages.error(request, str(exc))
        return _back(request)
    return HttpResponseRedirect(url)


# --- the hub: the local card page and the webhook ------------------------------------------------


def local_card(request: HttpRequest, token: str) -> HttpResponse:
    try:
        payment = read_local_payment(token)
        if not stripe_api.uses_local_server():
            raise BillingError("Payments are taken by Stripe Checkout, not on this page.")
    except BillingError as exc:
        return render(request, "billing/payment_problem.html", {"problem": str(exc)}, status=400)
    request.csp_extra = {
        "form-action": sorted({_origin(payment.success_url), _origin(payment.cancel_url)})
    }
    status = 200
    form = LocalCardForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                pay_with_local_card(payment, form.card(), request=request)
            except stripe_api.CardDeclined as exc:
                form.add_error(None, f"{exc} Try the test card 4242 4242 4242 4242.")
            except stripe_api.StripeUnavailable as exc:
                form.add_error(None, str(exc))
                status = 503
            except (BillingError, stripe_api.StripeError) as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(payment.success_url)
        status = status if status != 200 else 400
    elif request.method != "GET":
        return HttpResponse(status=405)
    return render(
        request,
        "billing/local_card.html",
        {
            "payment": payment,
            "payer_name": Subscription.objects.filter(reference=payment.reference)
            .values_list("billing_name", flat=True)
            .first()
            or "",
            "price": format_pence(payment.plan.price(payment.interval)),
            "form": form,
        },
        status=status,
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's deliveries: verified, stored and acknowledged; processed by a worker."""
    try:
        event, created = receive_event(request.body, request.headers.get("Stripe-Signature"))
    except stripe_api.InvalidSignature as exc:
        return JsonResponse({"error": f"signature: {exc}"}, status=400)
    except MalformedEvent as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"received": event.stripe_event_id, "duplicate": not created})
