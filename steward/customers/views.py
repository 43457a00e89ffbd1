from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from steward.accounts.models import User
from steward.cases.models import Case
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error

from .forms import CustomerForm, CustomerSearchForm
from .selectors import customer_search, customers_visible_to, may_manage_customers
from .services import customer_create


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    term = form.cleaned_data["q"] if form.is_valid() else ""
    qs = customer_search(customers_visible_to(_user(request)), term).order_by("name", "id")
    page_obj = Paginator(qs, settings.STEWARD_CASE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/list.html", {"form": form, "page_obj": page_obj, "q": term})


@login_required
def customer_detail(request: HttpRequest, pk: str) -> HttpResponse:
    user = _user(request)
    customer = customers_visible_to(user).filter(pk=int(pk) if pk.isdigit() else 0).first()
    if customer is None:
        raise Http404
    cases = Case.objects.visible_to(user).filter(customer=customer).for_list().order_by("-created_at", "-id")
    page_obj = Paginator(cases, settings.STEWARD_CASE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/detail.html", {"customer": customer, "page_obj": page_obj})


@login_required
@require_http_methods(["GET", "POST"])
def customer_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may_manage_customers(user):
        raise PermissionDenied
    form = CustomerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                customer = customer_create(actor=user, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Customer %(name)s added.") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        status = 400
    return render(request, "customers/new.html", {"form": form}, status=status)
