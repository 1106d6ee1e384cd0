"""A project's field catalogue: the built-in fields and the attributes it has stored."""

from __future__ import annotations

from ..rules import Catalogue
from ..services.project_settings import event_settings
from ..storage import profile_table


def catalogue(project_id: str) -> Catalogue:
    return Catalogue(profile_table.attribute_kinds(project_id), event_settings(project_id))
