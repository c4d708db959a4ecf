"""The service admin's pages for API tokens: the service's integration accounts (the
partner's, and named ones acting with a staff role, added here) and their tokens, issuing one
(its key shown once, on the answer to the form, never again) and revoking one after a
confirmation. Every change goes through intake.api_tokens, as `manage.py api_token` does, and
is on the audit trail."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from common import roles
from common.access import role_required
from common.pages import refusal_on_form
from intake import api_tokens
from intake.staff_forms import IntegrationAccountForm, TokenIssueForm

ADMINS = (roles.SERVICE_ADMIN,)


@role_required(*ADMINS)
@require_safe
def token_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "intake/staff/tokens/token_list.html",
        {
            "accounts": api_tokens.integration_accounts(user=request.user),
            "accounts_shown": api_tokens.ACCOUNTS_SHOWN,
            "tokens_shown": api_tokens.TOKENS_SHOWN,
        },
    )


@role_required(*ADMINS)
@require_http_methods(["GET", "HEAD", "POST"])
def integration_add(request: HttpRequest) -> HttpResponse:
    """A named integration account of the admin's service, acting with one role; then on to
    issuing its first token."""
    form = IntegrationAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            account = api_tokens.integration_account_add(
                by=request.user,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                request=request,
            )
        except api_tokens.IntegrationAccountError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"Integration account {account.username} added. Issue its token below: it "
                "cannot sign in to these pages, only use the API with a token.",
            )
            return redirect("api-token-issue", public_id=account.public_id)
    return render(
        request,
        "intake/staff/tokens/integration_add.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@role_required(*ADMINS)
@require_http_methods(["GET", "HEAD", "POST"])
def token_issue(request: HttpRequest, public_id: UUID) -> HttpResponse:
    account = api_tokens.integration_account_get(user=request.user, public_id=public_id)
    if account is None:
        raise Http404("No such integration account")
    form = TokenIssueForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        issued = api_tokens.api_token_issue_audited(
            account=account,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            by=request.user,
            request=request,
        )
        # The key is in this answer only (never stored, never in a redirect or the session).
        return render(
            request,
            "intake/staff/tokens/token_issued.html",
            {"account": account, "token": issued.token, "key": issued.key},
        )
    return render(
        request,
        "intake/staff/tokens/token_issue.html",
        {"account": account, "form": form},
        status=400 if form.is_bound else 200,
    )


@role_required(*ADMINS)
@require_http_methods(["GET", "HEAD", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_tokens.api_token_get(user=request.user, token_id=token_id)
    if token is None:
        raise Http404("No such token")
    if request.method != "POST":
        return render(request, "intake/staff/tokens/token_revoke.html", {"token": token})
    if token.revoked_at is not None:
        messages.info(request, f"Token {token.prefix}… was already revoked.")
    else:
        token = api_tokens.api_token_revoke_audited(token=token, by=request.user, request=request)
        messages.success(
            request,
            f"Token {token.prefix}… is revoked: requests sent with it are refused from now on.",
        )
    return redirect("api-token-list")
