"""Changes a test makes to the database behind the API's back (a state a client cannot
reach quickly, such as a document stuck processing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker, transaction
from lexbase.documents.models import Document


async def set_document(settings: Settings, document_id: str, **values: Any) -> None:
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            await session.execute(
                update(Document).where(Document.id == document_id).values(**values)
            )
    finally:
        await engine.dispose()
