"""The admin for registry staff: lists with search and filters; every write through a service;
nothing deleted; certifications read-only except the revoke and review actions."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials.admin import CertificationAdmin
from credentials.choices import LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)
from credentials.tests.factories import issuance_scene

pytestmark = pytest.mark.django_db

MODELS = (
    "therapist",
    "license",
    "school",
    "schoolauthorization",
    "instructor",
    "clinicalexperience",
    "certification",
)


@pytest.fixture
def scene(admin_user):
    scene = issuance_scene(actor=admin_user)
    scene.certification = scene.issue().certification
    return scene


def changelist(model):
    return reverse(f"admin:credentials_{model}_changelist")


def act(client, model, action, objects, **extra):
    return client.post(
        changelist(model),
        {"action": action, "_selected_action": [str(o.pk) for o in objects], "index": 0, **extra},
        follow=True,
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("model", MODELS)
def test_every_credential_list_loads_with_search(admin_client, scene, model):
    assert admin_client.get(changelist(model)).status_code == 200
    assert admin_client.get(changelist(model), {"q": "Ana"}).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_nothing_is_deleted_through_the_admin(admin_client, scene, model):
    obj = {
        "therapist": scene.therapist,
        "license": scene.license,
        "school": scene.school,
        "schoolauthorization": scene.authorization,
        "instructor": scene.instructor,
        "clinicalexperience": scene.experience,
        "certification": scene.certification,
    }[model]

    response = admin_client.post(reverse(f"admin:credentials_{model}_delete", args=[obj.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert "delete_selected" not in admin_client.get(changelist(model)).context["cl"].model_admin.get_actions(
        response.wsgi_request
    )


def test_certification_lists_filter_by_review_flag_and_status(admin_client, scene, admin_user):
    from credentials import services

    services.clinical_experience_withdraw(actor=admin_user, experience=scene.experience, reason="x")

    flagged = admin_client.get(changelist("certification"), {"review_required__exact": "1"})
    revoked = admin_client.get(changelist("certification"), {"status": "revoked"})

    assert [c.pk for c in flagged.context["cl"].result_list] == [scene.certification.pk]
    assert list(revoked.context["cl"].result_list) == []


def test_certification_change_form_is_read_only(admin_client, scene):
    url = reverse("admin:credentials_certification_change", args=[scene.certification.pk])

    assert admin_client.get(url).status_code == 200  # viewable
    response = admin_client.post(url, {"taught_on": "2001-01-01"})

    assert response.status_code == 403
    assert admin_client.get(reverse("admin:credentials_certification_add")).status_code == 403


def test_revoke_action_revokes_through_the_service_with_the_reason(admin_client, scene, admin_user):
    response = act(admin_client, "certification", "revoke", [scene.certification], reason="Forged hours")

    assert response.status_code == 200
    certification = Certification.objects.get(pk=scene.certification.pk)
    assert certification.revoked_reason == "Forged hours"
    assert certification.revoked_by == admin_user
    event = AuditEvent.objects.get(action="certification.revoked")
    assert (event.actor, event.reason) == (admin_user, "Forged hours")


def test_revoke_action_without_a_reason_changes_nothing(admin_client, scene):
    response = act(admin_client, "certification", "revoke", [scene.certification], reason="  ")

    assert any("reason" in m for m in messages_of(response))
    assert Certification.objects.get(pk=scene.certification.pk).revoked_at is None


def test_revoke_action_on_an_already_revoked_certification_reports_the_conflict(admin_client, scene):
    act(admin_client, "certification", "revoke", [scene.certification], reason="first")

    response = act(admin_client, "certification", "revoke", [scene.certification], reason="second")

    assert any("already revoked" in m for m in messages_of(response))
    assert Certification.objects.get(pk=scene.certification.pk).revoked_reason == "first"


def test_revoke_action_uses_the_replaceable_revoke_call(admin_client, scene, monkeypatch):
    calls = []
    # The registered admin may be a subclass (the registry layer swaps in its use case).
    registered = type(admin.site._registry[Certification])
    assert issubclass(registered, CertificationAdmin)
    monkeypatch.setattr(registered, "revoke_certification", staticmethod(lambda **kw: calls.append(kw)))

    act(admin_client, "certification", "revoke", [scene.certification], reason="x")

    assert [c["certification"].pk for c in calls] == [scene.certification.pk]


def test_staff_without_the_change_permission_cannot_revoke(client, scene):
    from registry.models import Membership

    staff = UserFactory(username="viewer", is_staff=True)
    Membership.objects.create(user=staff, role="registry-admin")  # registry staff, view-only
    staff.user_permissions.add(Permission.objects.get(codename="view_certification"))
    client.force_login(staff)

    response = act(client, "certification", "revoke", [scene.certification], reason="x")

    assert "revoke" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert Certification.objects.get(pk=scene.certification.pk).revoked_at is None


def test_clear_review_action_keeps_a_flagged_certification(admin_client, scene, admin_user):
    act(admin_client, "schoolauthorization", "withdraw", [scene.authorization], reason="Inspection")
    assert Certification.objects.get(pk=scene.certification.pk).review_required

    act(admin_client, "certification", "clear_review", [scene.certification], reason="Trained properly")

    certification = Certification.objects.get(pk=scene.certification.pk)
    assert not certification.review_required
    assert certification.reviewed_by == admin_user


def test_withdraw_experience_action_flags_the_certificates_it_underpinned(admin_client, scene, admin_user):
    response = act(
        admin_client, "clinicalexperience", "withdraw", [scene.experience], reason="Logs not verified"
    )

    experience = ClinicalExperience.objects.get(pk=scene.experience.pk)
    assert experience.withdrawn_by == admin_user
    assert experience.withdrawn_reason == "Logs not verified"
    assert Certification.objects.get(pk=scene.certification.pk).review_required
    assert any("withdrawn" in m for m in messages_of(response))


def test_withdraw_authorisation_action_needs_a_reason(admin_client, scene):
    act(admin_client, "schoolauthorization", "withdraw", [scene.authorization], reason="")

    assert SchoolAuthorization.objects.get(pk=scene.authorization.pk).withdrawn_at is None


def test_adding_a_licence_goes_through_the_service(admin_client, scene, admin_user):
    response = admin_client.post(
        reverse("admin:credentials_license_add"),
        {
            "therapist": scene.therapist.pk,
            "jurisdiction": "US-OR",
            "number": "OR-77",
            "status": LicenseStatus.ACTIVE,
            "valid_from": "2024-01-01",
            "expires_on": "2027-12-31",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    license = License.objects.get(number="OR-77")
    assert AuditEvent.objects.get(object_id=str(license.pk)).actor == admin_user


def test_changing_a_licence_needs_a_reason_and_goes_through_the_service(admin_client, scene, admin_user):
    url = reverse("admin:credentials_license_change", args=[scene.license.pk])
    data = {"status": LicenseStatus.SUSPENDED, "expires_on": scene.license.expires_on.isoformat()}

    without_reason = admin_client.post(url, data)
    assert without_reason.status_code == 200  # the form again, with its error
    assert License.objects.get(pk=scene.license.pk).status == LicenseStatus.ACTIVE

    assert admin_client.post(url, {**data, "reason": "Board order 12"}).status_code == 302
    assert License.objects.get(pk=scene.license.pk).status == LicenseStatus.SUSPENDED
    event = AuditEvent.objects.get(action="license.changed")
    assert (event.actor, event.reason) == (admin_user, "Board order 12")


def test_adding_records_through_the_admin_audits_each(admin_client, scene, admin_user):
    admin_client.post(reverse("admin:credentials_therapist_add"), {"name": "Beth Jones", "email": ""})
    admin_client.post(
        reverse("admin:credentials_school_add"),
        {"name": "North School", "jurisdiction": "US-WA", "contact_email": ""},
    )
    north = School.objects.get(name="North School")
    admin_client.post(
        reverse("admin:credentials_instructor_add"), {"name": "Sofia Lind", "schools": [north.pk]}
    )
    admin_client.post(
        reverse("admin:credentials_schoolauthorization_add"),
        {"school": north.pk, "protocol": scene.protocol.pk},
    )
    sofia = Instructor.objects.get(name="Sofia Lind")
    admin_client.post(
        reverse("admin:credentials_clinicalexperience_add"),
        {
            "instructor": sofia.pk,
            "protocol": scene.protocol.pk,
            "years": 7,
            "cases": 300,
            "evidence": "Hospital records",
            "verified_on": "",
        },
    )

    beth = Therapist.objects.get(name="Beth Jones")
    assert list(sofia.schools.all()) == [north]
    experience = ClinicalExperience.objects.get(instructor=sofia)
    assert experience.verified_on == timezone.localdate()
    authorization = SchoolAuthorization.objects.get(school=north)
    for obj in (beth, north, sofia, authorization, experience):
        assert AuditEvent.objects.filter(object_id=str(obj.pk), actor=admin_user).count() == 1


def test_experience_from_a_future_date_is_refused_in_the_admin(admin_client, scene):
    response = admin_client.post(
        reverse("admin:credentials_clinicalexperience_add"),
        {
            "instructor": scene.instructor.pk,
            "protocol": scene.protocol.pk,
            "years": 7,
            "cases": 300,
            "evidence": "x",
            "verified_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        },
        follow=True,
    )

    assert any("future" in m for m in messages_of(response))
    assert ClinicalExperience.objects.filter(instructor=scene.instructor).count() == 1


def test_add_to_school_action_puts_instructors_on_a_roster(admin_client, scene):
    other = School.objects.create(name="Other", jurisdiction="US-CA")

    act(admin_client, "instructor", "add_to_school", [scene.instructor], school=other.pk)

    assert set(scene.instructor.schools.all()) == {scene.school, other}


def test_status_lists_are_shown_read_only_with_how_many_are_revoked(admin_client, scene, admin_user):
    """The admin lists the revocation status lists (indexes in use, bits set), and offers no
    way to add, change or delete one: a bit changes only when a certification is revoked."""
    from credentials.models import StatusList
    from credentials.services import certification_revoke

    certification_revoke(actor=admin_user, certification=scene.certification, reason="Assessment fraud")
    status_list = StatusList.objects.get()
    listing = admin_client.get(reverse("admin:credentials_statuslist_changelist"))
    assert listing.status_code == 200
    row = listing.content.decode()
    assert f"/api/v1/status-lists/{status_list.pk}/" in row
    assert '<td class="field-revoked">1</td>' in row
    assert admin_client.get(reverse("admin:credentials_statuslist_add")).status_code == 403
    change = reverse("admin:credentials_statuslist_change", args=[status_list.pk])
    before = bytes(status_list.bits)
    admin_client.post(change, {"full": "on"})
    status_list.refresh_from_db()
    assert (bytes(status_list.bits), status_list.full) == (before, False)
    delete = reverse("admin:credentials_statuslist_delete", args=[status_list.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert StatusList.objects.filter(pk=status_list.pk).exists()


def test_attest_scope_action_uses_the_replaceable_attest_call(admin_client, scene, monkeypatch):
    calls = []
    registered = type(admin.site._registry[Certification])
    assert issubclass(registered, CertificationAdmin)
    monkeypatch.setattr(registered, "scope_attest", staticmethod(lambda **kw: calls.append(kw)))

    act(admin_client, "certification", "attest_scope", [scene.certification], reason="Proctored")

    assert [(c["certification"].pk, c["reason"]) for c in calls] == [(scene.certification.pk, "Proctored")]


def test_the_attest_action_is_offered_only_to_staff_who_may_change_certifications(client, scene):
    from registry.models import Membership

    staff = UserFactory(username="viewer", is_staff=True)
    Membership.objects.create(user=staff, role="registry-admin")  # registry staff, view-only
    staff.user_permissions.add(Permission.objects.get(codename="view_certification"))
    client.force_login(staff)

    response = client.get(changelist("certification"))

    assert "attest_scope" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
