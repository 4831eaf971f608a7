"""An organisation's services, and the hub directory kept in step with them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from feedback.hub.models import ServiceListing
from feedback.models import Service
from feedback.sites_and_services import create_site, save_service, set_service_active
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def test_saving_a_service_updates_its_directory_listing(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        service = Service.objects.get(name="Alpha Ward One")
        service.name = "Alpha Ward One (Surgery)"
        save_service(service)
        set_service_active(Service.objects.get(name="Alpha Eye Clinic"), False)
    listing = ServiceListing.objects.get(pk=cast.ward_a.pk)
    assert listing.name == "Alpha Ward One (Surgery)"
    assert not ServiceListing.objects.get(pk=cast.clinic_a.pk).is_active
    assert (
        "Alpha Eye Clinic"
        not in client_for(None).post("/tell/", {"action": "search", "q": "Alpha"}).content.decode()
    )


def test_services_nest_within_one_site_without_cycles(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        ward = Service.objects.get(name="Alpha Ward One")
        other_site = create_site(name="Elsewhere")
        child = save_service(Service(site=ward.site, parent=ward, name="Bay 3", type="ward"))
        assert ward.subtree_ids() == [ward.pk, child.pk]
        with pytest.raises(ValidationError, match="same site"):
            save_service(Service(site=other_site, parent=ward, name="Far", type="ward"))
        ward.parent = child
        with pytest.raises(ValidationError, match="inside itself"):
            save_service(ward)


def test_admins_add_sites_and_services_in_the_workspace(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email)
    assert (
        client.post("/services/sites/add/", {"name": "Alpha Annexe", "code": "a0199"}).status_code
        == 302
    )
    with tenant_context(cast.org_a):
        site = Service.objects.model.site.field.related_model.objects.get(name="Alpha Annexe")
    assert site.code == "A0199"
    response = client.post(
        "/services/add/",
        {
            "site": site.pk,
            "name": "Annexe Clinic",
            "code": "ANX",
            "type": "clinic",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert ServiceListing.objects.filter(organisation=cast.org_a, name="Annexe Clinic").exists()
    bad = client.post("/services/add/", {"site": site.pk, "name": "", "type": "rocket"})
    assert bad.status_code == 400
    assert "This field is required" in bad.content.decode()


def test_members_see_services_but_cannot_change_them(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.member_a.email)
    assert "Alpha Ward One" in client.get("/services/").content.decode()
    assert client.post("/services/sites/add/", {"name": "X"}).status_code == 403
    assert client.get("/services/add/").status_code == 403


def test_admins_add_private_tags_that_are_never_published(cast: Cast) -> None:
    from feedback.models import Tag

    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email)
    response = client.post(
        "/tags/",
        {"name": "Ward 7 Estates", "group": "what could be improved", "polarity": "negative"},
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/tags/",
        {"name": "ward 7 estates", "group": "what could be improved", "polarity": "negative"},
    )
    assert "already a tag" in duplicate.content.decode()
    with tenant_context(cast.org_a):
        assert Tag.objects.get(name="ward 7 estates").is_private
    with tenant_context(cast.org_b):
        assert not Tag.objects.filter(name="ward 7 estates").exists()
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    assert "ward 7 estates" in member.get("/tags/").content.decode()
    assert (
        member.post("/tags/", {"name": "x", "group": "feelings", "polarity": "neutral"}).status_code
        == 403
    )
