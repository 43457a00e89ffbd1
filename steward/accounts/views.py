from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.core import timeutil
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error

from .forms import AbsenceForm, LanguageForm
from .models import User
from .selectors import absences_from, api_token_of, users_with_access
from .services import absence_create, token_revoke, user_set_active, user_set_language


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
    assert isinstance(request.user, User)
    return render(request, "accounts/preferences.html", {"form": form, "token": api_token_of(request.user)})


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


# Sessions and API tokens (issue 10): the user revokes their own token; managers and administrators
# revoke anyone's and (de)activate users, which ends all their sessions and tokens.


@login_required
@require_POST
def token_revoke_own(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    if token_revoke(actor=request.user, user=request.user):
        messages.success(request, _("Your API token was revoked."))
    return redirect("accounts:preferences")


def _manager(request: HttpRequest) -> User:
    user = request.user
    if not (isinstance(user, User) and user.manages_cases):
        raise Http404
    return user


@login_required
def users(request: HttpRequest) -> HttpResponse:
    _manager(request)
    return render(request, "accounts/users.html", {"rows": users_with_access()})


@login_required
@require_POST
def user_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _manager(request)
    target = get_object_or_404(User, pk=pk)
    if token_revoke(actor=actor, user=target):
        messages.success(request, _("The API token of %(name)s was revoked.") % {"name": target.display_name})
    return redirect("accounts:users")


@login_required
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _manager(request)
    target = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        user_set_active(actor=actor, user=target, active=active)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if active:
            messages.success(request, _("%(name)s can sign in again.") % {"name": target.display_name})
        else:
            messages.success(
                request,
                _("%(name)s was deactivated: all their sessions and API tokens ended.")
                % {"name": target.display_name},
            )
    return redirect("accounts:users")
