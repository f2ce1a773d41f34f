"""Stored analyses, read through the caller's scope."""

from __future__ import annotations

from collections.abc import Collection

from lexbase.core.principal import Principal
from lexbase.core.scope import ScopedRepository
from lexbase.intelligence.models import DocumentAnalysis


class AnalysisRepository(ScopedRepository[DocumentAnalysis]):
    model = DocumentAnalysis

    async def cached(
        self, principal: Principal, document_id: str, cache_key: str
    ) -> DocumentAnalysis | None:
        statement = (
            self.statement_for(principal)
            .where(DocumentAnalysis.document_id == document_id)
            .where(DocumentAnalysis.cache_key == cache_key)
            .order_by(DocumentAnalysis.created_at.desc())
            .limit(1)
        )
        return await self.get_one_or_none(statement)

    async def latest(
        self, principal: Principal, document_id: str, version: str, kinds: Collection[str]
    ) -> DocumentAnalysis | None:
        statement = (
            self.statement_for(principal)
            .where(DocumentAnalysis.document_id == document_id)
            .where(DocumentAnalysis.kind.in_(kinds))
            .where(DocumentAnalysis.document_version == version)
            .order_by(DocumentAnalysis.created_at.desc())
            .limit(1)
        )
        return await self.get_one_or_none(statement)
