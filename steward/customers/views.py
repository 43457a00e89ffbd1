from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from steward.accounts.models import User
from steward.cases.models import Case
from steward.core.errors import DomainError
from steward.core.forms import add_domain_error

from .forms import CustomerForm, CustomerSearchForm, CustomerValueForm, EconomicsInputsForm, ErasureForm
from .models import Customer, EconomicsInputs
from .privacy import may_handle_personal_data, personal_data_erase, personal_data_export
from .selectors import customer_search, customers_visible_to, may_manage_customers
from .services import customer_create, customer_value_set, economics_inputs_set


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


def _manager(request: HttpRequest) -> User:
    """Economics inputs are kept by service managers; for anyone else the pages do not exist."""
    user = _user(request)
    if not (user.is_active and user.manages_cases):
        raise Http404
    return user


def _inputs_initial(inputs: EconomicsInputs | None) -> dict[str, object]:
    if inputs is None:
        return {"currency": settings.STEWARD_CURRENCY}
    return {f: getattr(inputs, f) for f in EconomicsInputsForm.base_fields}


@login_required
@require_http_methods(["GET", "POST"])
def economics_inputs(request: HttpRequest, month: str = "") -> HttpResponse:
    """The monthly economics inputs: a list of months and the form for one (new or existing)."""
    user = _manager(request)
    current = None
    if month:
        try:
            day = datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise Http404 from None
        current = EconomicsInputs.objects.filter(month=day).first()
        if current is None:
            raise Http404
    if request.method == "POST":
        form = EconomicsInputsForm(request.POST)
        if form.is_valid():
            try:
                saved = economics_inputs_set(actor=user, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Inputs for %(month)s saved.") % {"month": saved})
                return redirect("customers:economics_inputs")
        status = 400
    else:
        form = EconomicsInputsForm(initial=_inputs_initial(current))
        status = 200
    page_obj = Paginator(
        EconomicsInputs.objects.order_by("-month"), settings.STEWARD_CASE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {"form": form, "page_obj": page_obj, "current": current}
    return render(request, "customers/economics_inputs.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def customer_value(request: HttpRequest, pk: str) -> HttpResponse:
    """A manager records a customer's acquisition and lost dates and margin."""
    user = _manager(request)
    customer = customers_visible_to(user).filter(pk=int(pk) if pk.isdigit() else 0).first()
    if customer is None:
        raise Http404
    if request.method == "POST":
        form = CustomerValueForm(request.POST)
        if form.is_valid():
            try:
                customer_value_set(actor=user, customer=customer, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Customer value saved."))
                return redirect("customers:detail", pk=customer.pk)
        status = 400
    else:
        form = CustomerValueForm(initial={f: getattr(customer, f) for f in CustomerValueForm.base_fields})
        status = 200
    return render(request, "customers/value.html", {"form": form, "customer": customer}, status=status)


# Personal data on request (issue 10): export and erasure, managers and administrators only.


def _personal_data_customer(request: HttpRequest, pk: str) -> tuple[User, Customer]:
    user = _user(request)
    if not may_handle_personal_data(user):
        raise Http404
    customer = Customer.objects.filter(pk=int(pk) if pk.isdigit() else 0).first()
    if customer is None:
        raise Http404
    return user, customer


@login_required
def personal_data(request: HttpRequest, pk: str) -> HttpResponse:
    _user_, customer = _personal_data_customer(request, pk)
    return render(
        request,
        "customers/personal_data.html",
        {"customer": customer, "form": ErasureForm(customer=customer)},
    )


@login_required
def personal_data_export_view(request: HttpRequest, pk: str) -> HttpResponse:
    user, customer = _personal_data_customer(request, pk)
    data = personal_data_export(actor=user, customer=customer)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="steward-customer-{customer.pk}.json"'
    return response


@login_required
@require_POST
def personal_data_erase_view(request: HttpRequest, pk: str) -> HttpResponse:
    user, customer = _personal_data_customer(request, pk)
    form = ErasureForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            personal_data_erase(actor=user, customer=customer)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The customer's personal data was erased; the figures are kept."))
            return redirect("customers:personal_data", pk=customer.pk)
    return render(request, "customers/personal_data.html", {"customer": customer, "form": form}, status=400)
