"""The one helper for a permission that guards part of a view.

A view that needs one permission as a whole says so with Django's
`@permission_required(perm, raise_exception=True)`; this helper is for the rest: a check
that applies only to one branch (the credit-limit override) or that accepts any one of
several permissions. Anonymous users never get this far: LoginRequiredMiddleware sends
them to the login page first. ShopModelBackend (settings.AUTHENTICATION_BACKENDS) answers
all of them from one query per request.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q


def require_perm(user: AbstractBaseUser | AnonymousUser, *perms: str) -> None:
    """Raise PermissionDenied (a 403) unless `user` holds at least one of `perms`."""
    if not perms:
        raise ValueError("require_perm needs at least one permission")
    if not any(user.has_perm(perm) for perm in perms):
        raise PermissionDenied


class ShopModelBackend(ModelBackend):
    """Django's ModelBackend with the user's permission set read in one query, not two.

    ModelBackend already keeps the set on the user object, i.e. for one request, so every
    check after the first (views, the nav's `perms`, row buttons) is a set lookup; it
    reads the set with two queries (the user's own permissions, then the groups'). This
    reads both at once. Nothing is kept across requests: a permission revoked (or a role
    taken away) counts from the user's next request.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                own = user_obj.user_permissions.through.objects.filter(user=user_obj)
                via_groups = Group.permissions.through.objects.filter(group__user=user_obj)
                perms = Permission.objects.filter(
                    Q(pk__in=own.values("permission")) | Q(pk__in=via_groups.values("permission"))
                )
            rows = perms.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
