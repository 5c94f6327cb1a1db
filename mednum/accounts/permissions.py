"""One question, one answer: may this person do this action to this object?

    from mednum.accounts.permissions import can
    if can(request.user, "lieu.change", lieu): ...

The answer comes from data (see `mednum.accounts.models`): the person's `RoleAssignment` rows, the
actions their roles grant (`RolePermission`), and where each assignment applies.

Where an object lies. An object tells which territory it belongs to through a small protocol:
a ``territoire_codes()`` method returning the codes it knows, e.g.

    {"commune": "34172", "departement": "34", "region": "76", "epci": "243400017"}

(missing or empty values are fine). Régions, départements, EPCI and communes are understood directly.

How scopes cover objects:
- an assignment without scope covers every object;
- a région (resp. département, EPCI) scope covers the objects whose ``region`` (resp. ``departement``,
  ``epci``) code is that territory's; an EPCI scope thus covers its member communes and what lies in them;
- a target-bound assignment (content type + object id) covers that object only.

Without an object (``can(user, "lieu.moderate")``) the question is "everywhere?": only an assignment
without scope answers yes. `can_anywhere()` asks "somewhere?" (to show a menu entry, for instance).

A person's assignments are read once (one query) and kept on the user object, hence for the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.contrib.contenttypes.models import ContentType

# Actions anyone may do, even anonymously. None yet: reading public pages needs no permission check.
PUBLIC_ACTIONS: frozenset[str] = frozenset()

SCOPE_LEVELS = ("region", "departement", "epci")

_CACHE_ATTR = "_mednum_role_grants"


@runtime_checkable
class HasTerritoire(Protocol):
    def territoire_codes(self) -> Mapping[str, str | None]: ...


@dataclass(frozen=True)
class Grant:
    """One role assignment of a person, with the actions its role grants."""

    role: str
    actions: frozenset[str]
    scope_level: str | None = None  # "region", "departement", "epci" or None
    scope_code: str | None = None
    content_type_id: int | None = None
    object_id: str | None = None

    @property
    def is_global(self) -> bool:
        return self.scope_level is None and self.content_type_id is None

    def allows(self, action: str) -> bool:
        if action in self.actions or "*" in self.actions:
            return True
        subject = action.split(".", 1)[0]
        return f"{subject}.*" in self.actions

    def covers(self, obj: Any, codes: Mapping[str, str]) -> bool:
        if self.is_global:
            return True
        if self.content_type_id is not None:
            return _is_target(obj, self.content_type_id, self.object_id)
        return codes.get(self.scope_level) == self.scope_code


def _is_target(obj: Any, content_type_id: int, object_id: str | None) -> bool:
    meta = getattr(obj, "_meta", None)
    if meta is None or getattr(obj, "pk", None) is None:
        return False
    return ContentType.objects.get_for_model(obj).pk == content_type_id and str(obj.pk) == object_id


def grants_for(user) -> tuple[Grant, ...]:
    """The person's role assignments (one query, then cached on the user object)."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from mednum.accounts.models import RoleAssignment

    rows = RoleAssignment.objects.filter(user_id=user.pk).values_list(
        "pk",
        "role_id",
        "region_id",
        "departement_id",
        "epci_id",
        "content_type_id",
        "object_id",
        "role__permissions__action",
    )
    assignments: dict[int, dict[str, Any]] = {}
    for pk, role, region, departement, epci, content_type_id, object_id, action in rows:
        entry = assignments.setdefault(
            pk,
            {
                "role": role,
                "actions": set(),
                "scope": next(
                    ((level, code) for level, code in zip(SCOPE_LEVELS, (region, departement, epci)) if code),
                    (None, None),
                ),
                "content_type_id": content_type_id,
                "object_id": object_id,
            },
        )
        if action:
            entry["actions"].add(action)
    grants = tuple(
        Grant(
            role=entry["role"],
            actions=frozenset(entry["actions"]),
            scope_level=entry["scope"][0],
            scope_code=entry["scope"][1],
            content_type_id=entry["content_type_id"],
            object_id=entry["object_id"],
        )
        for entry in assignments.values()
    )
    setattr(user, _CACHE_ATTR, grants)
    return grants


def clear_permission_cache(user) -> None:
    """Forget the cached assignments (after giving or removing a role to this user object)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def territoire_codes(obj: Any) -> dict[str, str]:
    """The territory codes of an object: {"commune": …, "departement": …, "region": …, "epci": …}."""
    from mednum.territoires.models import Commune, Departement, Epci, Region

    if isinstance(obj, Commune):
        codes = {"commune": obj.code, "departement": obj.departement_id, "region": obj.region_id, "epci": obj.epci_id}
    elif isinstance(obj, Departement):
        codes = {"departement": obj.code, "region": obj.region_id}
    elif isinstance(obj, Region):
        codes = {"region": obj.code}
    elif isinstance(obj, Epci):
        codes = {"epci": obj.code}
        # An EPCI lies in a département (région) when all its communes do; some straddle two.
        pairs = set(obj.communes.values_list("departement_id", "region_id").distinct())
        departements = {departement for departement, _ in pairs}
        regions = {region for _, region in pairs}
        if len(departements) == 1:
            codes["departement"] = departements.pop()
        if len(regions) == 1:
            codes["region"] = regions.pop()
    elif isinstance(obj, HasTerritoire):
        codes = dict(obj.territoire_codes() or {})
    else:
        return {}
    return {level: str(code) for level, code in codes.items() if code not in (None, "")}


def _is_active_user(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def can(user, action: str, obj: Any = None) -> bool:
    """May `user` do `action` (``"lieu.change"``…) to `obj`? Without `obj`: everywhere?"""
    if action in PUBLIC_ACTIONS:
        return True
    if not _is_active_user(user):
        return False
    if user.is_superuser:
        return True
    grants = [grant for grant in grants_for(user) if grant.allows(action)]
    if not grants:
        return False
    if obj is None:
        return any(grant.is_global for grant in grants)
    if any(grant.is_global for grant in grants):
        return True
    codes: dict[str, str] | None = None
    for grant in grants:
        if grant.content_type_id is None and codes is None:
            codes = territoire_codes(obj)  # computed once, and only when a territorial scope needs it
        if grant.covers(obj, codes or {}):
            return True
    return False


def can_anywhere(user, action: str) -> bool:
    """May `user` do `action` somewhere (on at least some objects)? For menus and list pages."""
    if action in PUBLIC_ACTIONS:
        return True
    if not _is_active_user(user):
        return False
    if user.is_superuser:
        return True
    return any(grant.allows(action) for grant in grants_for(user))


def has_role(user, role: str) -> bool:
    """Does `user` hold `role` (a role slug), whatever its scope?"""
    if not _is_active_user(user):
        return False
    return any(grant.role == role for grant in grants_for(user))
