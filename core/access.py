"""The one helper for a permission that guards part of a view.

A view that needs one permission as a whole says so with Django's
`@permission_required(perm, raise_exception=True)`; this helper is for the rest: a check
that applies only to one branch (the credit-limit override) or that accepts any one of
several permissions. Anonymous users never get this far: LoginRequiredMiddleware sends
them to the login page first. ShopModelBackend (settings.AUTHENTICATION_BACKENDS) answers
all of them from the shared cache, or one query when a role or permission changed.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_migrate


def require_perm(user: AbstractBaseUser | AnonymousUser, *perms: str) -> None:
    """Raise PermissionDenied (a 403) unless `user` holds at least one of `perms`."""
    if not perms:
        raise ValueError("require_perm needs at least one permission")
    if not any(user.has_perm(perm) for perm in perms):
        raise PermissionDenied


class ShopModelBackend(ModelBackend):
    """Django's ModelBackend with the user's permission set read in one query, and kept
    in the shared cache (settings.CACHES) until a role or a permission changes.

    ModelBackend keeps the set on the user object, i.e. for one request, and reads it with
    two queries (the user's own permissions, then the groups'); this reads both at once,
    and only when the cache has no set for the user under the current version. Any change
    to who holds what (groups, their permissions, a user's own, migrations) gives the
    cache a new version (permissions_changed), so a permission revoked or a role taken
    away counts from the user's next request in every worker.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            key = _cache_key(user_obj)
            perms = cache.get(key)
            if perms is None:
                perms = _read_permissions(user_obj)
                cache.set(key, perms, PERMS_TIMEOUT)
            user_obj._perm_cache = perms
        return user_obj._perm_cache


# The shared cache's key for the version of every cached permission set; a new random
# value (not a counter) so two workers bumping at once can never land on an old version.
VERSION_KEY = "access:perms-version"
PERMS_TIMEOUT = 60 * 60


def _read_permissions(user) -> set[str]:
    if user.is_superuser:
        perms = Permission.objects.all()
    else:
        own = user.user_permissions.through.objects.filter(user=user)
        via_groups = Group.permissions.through.objects.filter(group__user=user)
        perms = Permission.objects.filter(
            Q(pk__in=own.values("permission")) | Q(pk__in=via_groups.values("permission"))
        )
    rows = perms.values_list("content_type__app_label", "codename").order_by()
    return {f"{app_label}.{codename}" for app_label, codename in rows}


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        # Never set, or evicted: a fresh namespace, so no set cached before can come back.
        cache.add(VERSION_KEY, secrets.token_hex(8), None)
        version = cache.get(VERSION_KEY)
    return version


def _cache_key(user) -> str:
    # date_joined tells apart two users that got the same id (a deleted user's id reused).
    joined = user.date_joined.timestamp() if getattr(user, "date_joined", None) else ""
    return f"access:perms:{_version()}:{user.pk}:{joined}:{int(user.is_superuser)}"


def _new_version() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), None)


def permissions_changed(**kwargs) -> None:
    """Receiver for every change to who holds which permission: all cached sets are stale.

    Bumped now and again after the commit: a request that read the old rows between the
    two could otherwise keep them under the new version.
    """
    _new_version()
    transaction.on_commit(_new_version)


def _membership_changed(action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        permissions_changed()


def watch_permission_changes() -> None:
    """Connect permissions_changed to every signal that changes a user's permission set
    (called once, from CoreConfig.ready)."""
    user_model = get_user_model()
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(_membership_changed, sender=through, dispatch_uid=f"perms-{through}")
    for model in (Group, Permission):
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"perms-{model}")
    # Data migrations change roles through historical models, which send no m2m signal.
    post_migrate.connect(permissions_changed, dispatch_uid="perms-migrate")
