"""Shared base model, the Service every record belongs to, and staff users."""

from __future__ import annotations

import functools
import uuid

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils.crypto import salted_hmac


class BaseModel(models.Model):
    """Every domain row: a public UUID for URLs, APIs and task arguments, and timestamps.

    The integer primary key stays internal; nothing outside the database sees it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Service(BaseModel):
    """One NHS talking-therapy service (team). All staff and client data belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    duty_inbox_email = models.EmailField(
        help_text="Where urgent risk alerts go: the duty clinician's shared inbox."
    )
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    min_age = models.PositiveSmallIntegerField(default=18)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    gp_postcode_areas = models.JSONField(
        default=list,
        blank=True,
        help_text="Postcode districts the service covers (e.g. ['CB1', 'CB2']); empty: any.",
    )
    signpost_current_services = models.JSONField(
        default=list,
        blank=True,
        help_text="Services a client may already be under that mean we first point them back "
        "there (e.g. ['crisis_team']).",
    )
    self_referral_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_age__isnull=True)
                | models.Q(max_age__gte=models.F("min_age")),
                name="service_age_range_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Site(BaseModel):
    """A place where a service sees clients in person."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="site_name_unique_in_service")
        ]

    def __str__(self) -> str:
        return self.name


class SignedInUserManager(UserManager):
    """The user model's default manager, which signs a member in on every request (the auth
    backend's `get_user`): on PostgreSQL each user comes with the names of their groups, read
    in the same query (`User.role_names`), so a staff page asks the database nothing more to
    check a role. Elsewhere, and through `User.objects`, users come as Django gives them."""

    # Migrations read users as they were: through the plain manager.
    use_in_migrations = False

    def get_queryset(self):
        users = super().get_queryset()
        if connections[self.db].vendor == "postgresql":
            from django.contrib.postgres.expressions import ArraySubquery

            names = Group.objects.filter(user=models.OuterRef("pk")).values("name")
            users = users.annotate(role_array=ArraySubquery(names))
        return users


class User(AbstractUser):
    """A member of staff. Clients never have accounts.

    Everyone but a superuser belongs to exactly one service and sees only its data.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    # Every session signed in before this moment is ended (set when a service admin resets
    # the member's two-factor sign-in, common/two_factor.py): it is part of the hash each
    # session is checked against on every request, like the password.
    sessions_ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A named account a system uses through the API with its token (intake.api_tokens),
    # holding the role it acts with. It never signs in to the staff pages (common.access).
    is_integration = models.BooleanField(
        default=False,
        help_text="An integration account: uses the API with a token, never the staff pages.",
    )

    objects = UserManager()
    signed_in = SignedInUserManager()

    class Meta:
        default_manager_name = "signed_in"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(service__isnull=False),
                name="staff_user_has_service",
            )
        ]

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django's one place for the hash (current key and SECRET_KEY_FALLBACKS alike).
        password_hash = super()._get_session_auth_hash(secret=secret)
        if self.sessions_ended_at is None:
            return password_hash  # sessions from before the field existed stay signed in
        return salted_hmac(
            "common.User.sessions_ended_at",
            f"{password_hash}|{self.sessions_ended_at.isoformat()}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def has_role(self, role: str) -> bool:
        return role in self.role_names

    @property
    def role_names(self) -> frozenset[str]:
        """The names of the user's groups (their roles), read once per instance (a request's
        user): with the user where the default manager loaded it (SignedInUserManager), else
        by one plain SQL statement, as `self.groups.values_list("name")` reads them,
        without building that queryset on every request of every staff page."""
        cached = getattr(self, "_role_names", None)
        if cached is None:
            read_with_user = self.__dict__.get("role_array")
            if read_with_user is not None:  # loaded by the default manager, on PostgreSQL
                cached = frozenset(read_with_user)
            elif self.pk is None:  # unsaved: the relation refuses, as it always has
                cached = frozenset(self.groups.values_list("name", flat=True))
            else:
                with connections[self._state.db or DEFAULT_DB_ALIAS].cursor() as cursor:
                    cursor.execute(_roles_sql(), [self.pk])
                    cached = frozenset(name for (name,) in cursor.fetchall())
            self._role_names = cached
        return cached


@functools.cache
def _roles_sql() -> str:
    """The names of a user's groups, by their id: the query `User.groups` makes, written once
    from the models' table and column names."""
    through = User.groups.through._meta
    group = through.get_field("group").remote_field.model._meta
    user_column = through.get_field("user").column
    group_column = through.get_field("group").column
    return (
        f'SELECT g."name" FROM "{group.db_table}" g '
        f'JOIN "{through.db_table}" ug ON ug."{group_column}" = g."{group.pk.column}" '
        f'WHERE ug."{user_column}" = %s'
    )


class Heartbeat(models.Model):
    """A row written by a worker: proof that a task went through the broker and ran."""

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(max_length=200)
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
