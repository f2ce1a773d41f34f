"""Bodies of the conversation routes (API.md: Conversations)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_MESSAGE_CHARS = 8000


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, max_length=200)
    matter_id: str | None = Field(default=None, max_length=36)
    document_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("document_ids")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not item or len(item) > 36 for item in value):
            raise ValueError("document ids are 1 to 36 characters")
        return list(dict.fromkeys(value)) if value is not None else None


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    matter_id: str | None
    document_ids: list[str] | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    stream: bool = False

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty")
        return value.strip()


class CitationOut(BaseModel):
    marker: int
    document_id: str
    chunk_id: str
    quote: str  # exactly text[start:end] of the document's /text
    page: int | None
    start: int
    end: int


class SentenceOut(BaseModel):
    text: str
    status: Literal["supported", "unsupported", "withheld"]
    markers: list[int]


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class MessageOut(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    mode: Literal["generated", "extractive"] | None
    grounded: bool | None
    citations: list[CitationOut]
    sentences: list[SentenceOut]
    model: str | None
    usage: UsageOut
    status: Literal["complete", "incomplete", "failed"]
    created_at: datetime


class AnswerOut(BaseModel):
    message: MessageOut
