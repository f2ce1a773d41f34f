"""HTTP routes of the auth domain: register, login (JSON or OAuth2 form), refresh, logout, me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import ValidationError

from lexbase.auth.deps import AccountManager, Reader
from lexbase.auth.schemas import (
    LoginRequest,
    PasswordChangeRequest,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from lexbase.auth.service import AuthService, IpFailureLimiter, IssuedTokens
from lexbase.core.context import current_request
from lexbase.core.deps import ResourcesDep, SessionDep
from lexbase.core.errors import UnsupportedMediaType, ValidationFailed

router = APIRouter(prefix="/auth", tags=["auth"])

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                }
            },
        },
    }
}


def _pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=UserOut.model_validate(tokens.user),
    )


async def _login_body(request: Request) -> LoginRequest:
    """JSON `{email, password}` or the OAuth2 password form (`username`, `password`)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in _FORM_TYPES:
            form = await request.form()
            return LoginRequest(
                email=str(form.get("username") or ""),
                password=str(form.get("password") or ""),
                organization_id=str(form.get("organization_id") or "") or None,
            )
        if content_type in ("application/json", ""):
            return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        details = [
            {"loc": ["body", *map(str, e["loc"])], "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise ValidationFailed(details=details) from None
    raise UnsupportedMediaType("Send JSON or an application/x-www-form-urlencoded form")


async def auth_service(session: SessionDep, resources: ResourcesDep) -> AuthService:
    return AuthService(session, resources.settings, resources.passwords)


Auth = Annotated[AuthService, Depends(auth_service)]


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: RegisterRequest, auth: Auth) -> UserOut:
    return UserOut.model_validate(await auth.register(**body.model_dump()))


@router.post("/login", response_model=TokenPair, openapi_extra=_LOGIN_BODY)
async def login(request: Request, auth: Auth, resources: ResourcesDep) -> TokenPair:
    body = await _login_body(request)
    limiter = IpFailureLimiter(
        resources.rate_limit_storage, resources.settings, current_request().ip
    )
    return _pair(await auth.login(body.email, body.password, limiter, body.organization_id))


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, auth: Auth) -> TokenPair:
    return _pair(await auth.refresh(body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: Reader, auth: Auth) -> Response:
    await auth.logout(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(principal: Reader, auth: Auth) -> UserOut:
    return UserOut.model_validate(await auth.me(principal))


@router.patch("/me", response_model=UserOut)
async def update_me(body: ProfileUpdate, principal: AccountManager, auth: Auth) -> UserOut:
    return UserOut.model_validate(await auth.update_profile(principal, body.full_name))


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChangeRequest, principal: AccountManager, auth: Auth
) -> Response:
    """Change the caller's password; every session and API key of the account ends at once."""
    await auth.change_password(principal, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
