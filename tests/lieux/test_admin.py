"""The lieux admin: what a moderator may save."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from mednum.lieux.models import Lieu
from tests.factories import UserFactory, make_lieu

pytestmark = pytest.mark.django_db


def admin_form(lieu: Lieu, **changes):
    """The lieu admin's own form, bound to the lieu's values with `changes`."""
    model_admin = admin.site._registry[Lieu]
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = model_admin.get_form(request, lieu)
    data = {name: field.prepare_value(field.initial if field.initial is not None else getattr(lieu, name, ""))
            for name, field in form_class.base_fields.items()}
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data.update(changes)
    return form_class(data=data, instance=lieu)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("latitude", "1e308", "La latitude est comprise entre -90 et 90."),
    ("latitude", "-91", "La latitude est comprise entre -90 et 90."),
    ("longitude", "181", "La longitude est comprise entre -180 et 180."),
    ("longitude", "-1e308", "La longitude est comprise entre -180 et 180."),
])
def test_admin_form_refuses_a_position_off_the_globe(field, value, message):
    """The form used to accept any finite number; on PostgreSQL one such point overflowed the GiST
    index's boxes, and other lieux could no longer be written."""
    lieu = make_lieu(nom="Espace", latitude="43.40", longitude="3.69")
    form = admin_form(lieu, **{field: value})
    assert not form.is_valid()
    assert message in form.errors[field]
    assert admin_form(lieu, latitude="43.5", longitude="3.7").is_valid(), admin_form(lieu).errors


@pytest.mark.parametrize(("latitude", "longitude"), [(1e308, 3.69), (43.4, -1e308), (90.5, 0), (0, 180.5)])
def test_database_refuses_a_position_off_the_globe(latitude, longitude):
    """Every path, not only forms: the table has a CHECK constraint."""
    lieu = make_lieu(nom="Espace", latitude="43.40", longitude="3.69")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lieu.objects.filter(pk=lieu.pk).update(latitude=latitude, longitude=longitude)
    Lieu.objects.filter(pk=lieu.pk).update(latitude=None, longitude=None)  # no position is fine
    Lieu.objects.filter(pk=lieu.pk).update(latitude=-90, longitude=180)  # the limits are on the globe
    make_lieu(nom="Autre", latitude="43.41", longitude="3.70")  # other lieux are still written
