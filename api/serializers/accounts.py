"""Users, their role, and tokens."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import CharField, EnumField
from credentials.models import School, Therapist
from registry.choices import Role
from registry.models import Membership, Spa


class UserCreateSerializer(serializers.Serializer):
    """Input of ``POST /users/``. The tenant must match the role (the service checks):
    spa staff a ``spa``, school staff a ``school``, a therapist user a ``therapist``,
    registry admins none. Without ``password`` the user signs in with the token only."""

    username = CharField(max_length=150)
    password = CharField(
        required=False, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    role = EnumField(Role)
    spa = serializers.PrimaryKeyRelatedField(queryset=Spa.objects.all(), required=False, allow_null=True)
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    therapist = serializers.PrimaryKeyRelatedField(
        queryset=Therapist.objects.all(), required=False, allow_null=True
    )


class MeSerializer(serializers.Serializer):
    """The caller: id, username, role and the tenant it is bound to (ids; ``null`` where the
    role binds none). ``role`` is ``null`` for a user who has no role yet."""

    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    role = EnumField(Role, read_only=True, allow_null=True)
    spa = serializers.UUIDField(read_only=True, allow_null=True)
    school = serializers.UUIDField(read_only=True, allow_null=True)
    therapist = serializers.UUIDField(read_only=True, allow_null=True)

    def to_representation(self, user):
        membership: Membership | None = self.context.get("membership")
        return {
            "id": str(user.pk),
            "username": user.username,
            "role": membership.role if membership else None,
            "spa": str(membership.spa_id) if membership and membership.spa_id else None,
            "school": str(membership.school_id) if membership and membership.school_id else None,
            "therapist": str(membership.therapist_id) if membership and membership.therapist_id else None,
        }


class UserCreatedSerializer(MeSerializer):
    """The created user and their API token (shown here, at creation)."""

    token = serializers.CharField(read_only=True)

    def to_representation(self, user):
        return {**super().to_representation(user), "token": self.context["token"]}


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Send as `Authorization: Token <token>`.")
