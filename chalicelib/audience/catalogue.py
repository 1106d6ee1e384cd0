"""A project's field catalogue: the built-in fields and the attributes it has stored."""
from __future__ import annotations

from ..segments import Catalogue
from ..storage import profiles as profile_store


def catalogue(project_id: str) -> Catalogue:
    return Catalogue(profile_store.attribute_kinds(project_id))
