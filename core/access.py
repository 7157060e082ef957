"""The one helper for a permission that guards part of a view.

A view that needs one permission as a whole says so with Django's
`@permission_required(perm, raise_exception=True)`; this helper is for the rest: a check
that applies only to one branch (the credit-limit override) or that accepts any one of
several permissions. Anonymous users never get this far: LoginRequiredMiddleware sends
them to the login page first.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied


def require_perm(user: AbstractBaseUser | AnonymousUser, *perms: str) -> None:
    """Raise PermissionDenied (a 403) unless `user` holds at least one of `perms`."""
    if not perms:
        raise ValueError("require_perm needs at least one permission")
    if not any(user.has_perm(perm) for perm in perms):
        raise PermissionDenied
