from django.urls import path

from onboarding.signup import views

app_name = "signup"

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("signup/", views.details, name="details"),
    path("signup/account/", views.account, name="account"),
    path("signup/check-email/", views.check_email, name="check_email"),
    path("signup/verify/<str:token>/", views.verify, name="verify"),
    path("signup/plan/", views.plan, name="plan"),
    path("signup/payment/", views.payment, name="payment"),
    path("signup/paid/", views.paid, name="paid"),
    path("signup/progress/", views.progress, name="progress"),
    path("signup/status/", views.status, name="status"),
    path("signup/retry/", views.retry, name="retry"),
]
