"""HTTP routes for the caller's own API keys."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from lexbase.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from lexbase.apikeys.service import ApiKeyService
from lexbase.auth.deps import AccountManager, Reader
from lexbase.core.deps import SessionDep
from lexbase.core.pagination import Page, PageDep

router = APIRouter(prefix="/api-keys", tags=["api-keys"])


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, principal: AccountManager, session: SessionDep
) -> ApiKeyCreated:
    key, secret = await ApiKeyService(session).create(principal, body)
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "key": secret}
    )


@router.get("", response_model=Page[ApiKeyOut])
async def list_api_keys(principal: Reader, session: SessionDep, page: PageDep) -> Page[ApiKeyOut]:
    items, total = await ApiKeyService(session).list(principal, page)
    return Page(
        items=[ApiKeyOut.model_validate(k) for k in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{api_key_id}", response_model=ApiKeyOut)
async def get_api_key(api_key_id: str, principal: Reader, session: SessionDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await ApiKeyService(session).get(principal, api_key_id))


@router.delete("/{api_key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    api_key_id: str, principal: AccountManager, session: SessionDep
) -> Response:
    await ApiKeyService(session).revoke(principal, api_key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
