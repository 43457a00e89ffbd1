from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from steward.core import timeutil
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error

from .forms import AbsenceForm, LanguageForm
from .models import User
from .selectors import absences_from
from .services import absence_create, user_set_language


def _with_language_cookie(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,
    )
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        user = form.get_user()
        language = user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        # Open the next page in the user's own language.
        response["Location"] = translate_url(response["Location"], language)
        return _with_language_cookie(response, language)


def _safe_next(request: HttpRequest, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return reverse("cases:list")


@require_http_methods(["GET", "POST"])
def language(request: HttpRequest) -> HttpResponse:
    """Switch language: for this page (cookie + URL prefix) and, when signed in, for the user."""
    form = LanguageForm(request.POST or None, initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        lang = form.cleaned_data["language"]
        if request.user.is_authenticated:
            assert isinstance(request.user, User)
            user_set_language(user=request.user, language=lang)
        target = translate_url(_safe_next(request, form.cleaned_data["next"]), lang)
        return _with_language_cookie(HttpResponseRedirect(target), lang)
    return render(
        request, "accounts/preferences.html", {"form": form}, status=400 if request.method == "POST" else 200
    )


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(
        initial={"language": translation.get_language(), "next": reverse("accounts:preferences")}
    )
    if request.GET.get("saved"):
        messages.success(request, _("Preferences saved."))
    return render(request, "accounts/preferences.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def absences(request: HttpRequest) -> HttpResponse:
    """Managers record absences; during one, the person's backup acts as owner of their cases."""
    user = request.user
    assert isinstance(user, User)
    if not user.manages_cases:
        raise PermissionDenied
    form = AbsenceForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            try:
                absence_create(
                    actor=user,
                    user=c["user"],
                    starts_at=c["starts_at"],
                    ends_at=c["ends_at"],
                    reason=c["reason"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Absence recorded. The backup covers the cases meanwhile."))
                return redirect("accounts:absences")
        status = 400
    context = {"form": form, "absences": absences_from(since=timeutil.now()), "now": timeutil.now()}
    return render(request, "accounts/absences.html", context, status=status)
