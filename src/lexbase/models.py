"""Imports every domain's models so `Base.metadata` is complete (for Alembic and tests)."""

from lexbase.analytics import models as analytics_models
from lexbase.apikeys import models as apikeys_models
from lexbase.audit import models as audit_models
from lexbase.auth import models as auth_models
from lexbase.chat import models as chat_models
from lexbase.core.db import Base
from lexbase.documents import models as documents_models
from lexbase.intelligence import models as intelligence_models
from lexbase.jobs import models as jobs_models
from lexbase.matters import models as matters_models
from lexbase.users import models as users_models
from lexbase.workflows import models as workflows_models

__all__ = [
    "Base",
    "analytics_models",
    "apikeys_models",
    "audit_models",
    "auth_models",
    "chat_models",
    "documents_models",
    "intelligence_models",
    "jobs_models",
    "matters_models",
    "users_models",
    "workflows_models",
]
