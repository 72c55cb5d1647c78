from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from ops_platform.accounts.models import Staff
from ops_platform.core.roles import Role


@transaction.atomic
def staff_create(*, username: str, password: str, roles: list[Role | str], email: str = "",
                 first_name: str = "", last_name: str = "", language: str = "") -> Staff:
    """Create a staff member holding the given roles. Admins also get the Django admin site."""
    role_values = [Role(role) for role in roles]
    staff = Staff(username=username, email=email, first_name=first_name, last_name=last_name,
                  language=language, is_staff=Role.ADMIN in role_values,
                  is_superuser=Role.ADMIN in role_values)
    staff.set_password(password)
    staff.full_clean(exclude=["password"])
    staff.save()
    # The role groups come from a data migration; a flushed database (transactional tests) has none, and a
    # role must never be dropped silently, so a missing group is created.
    staff.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in dict.fromkeys(role_values)])
    return staff


def staff_set_language(*, staff: Staff, language: str) -> Staff:
    staff.language = language
    staff.full_clean(exclude=["password"])
    staff.save(update_fields=["language"])
    return staff
