"""factory_boy factories shared by the test suite. Add new factories below; keep the existing ones."""

import factory
from django.utils.text import slugify

from mednum.territoires.models import CodePostal, Commune, Departement, Epci, Region, Zone
from mednum.territoires.text import normalise


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "76"
    nom = "Occitanie"
    slug = factory.LazyAttribute(lambda o: slugify(o.nom))
    zone = Zone.METRO


class DepartementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Departement
        django_get_or_create = ("code",)

    code = "34"
    nom = "Hérault"
    slug = factory.LazyAttribute(lambda o: slugify(o.nom))
    region = factory.SubFactory(RegionFactory)
    zone = Zone.METRO


class EpciFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Epci
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"2000{n:05d}")
    nom = factory.Sequence(lambda n: f"Communauté de communes numéro {n}")
    type = "CC"


class CommuneFactory(factory.django.DjangoModelFactory):
    """A commune; its `codes_postaux` also get their `CodePostal` rows."""

    class Meta:
        model = Commune
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"{90000 + n}")
    nom = factory.Sequence(lambda n: f"Commune {n}")
    nom_recherche = factory.LazyAttribute(lambda o: normalise(o.nom))
    slug = factory.LazyAttribute(lambda o: f"{slugify(o.nom)}-{o.code.lower()}")
    codes_postaux = factory.LazyAttribute(lambda o: [f"{o.code[:2]}000"])
    population = 1000
    departement = factory.SubFactory(DepartementFactory)
    region = factory.LazyAttribute(lambda o: o.departement.region)
    epci = None
    zone = Zone.METRO
    latitude = None
    longitude = None

    @factory.post_generation
    def postal_code_rows(obj, create, extracted, **kwargs):
        if create:
            for code in obj.codes_postaux:
                CodePostal.objects.get_or_create(code=code, commune=obj)


# --- Accounts (mednum.accounts) ---------------------------------------------------------------------

from django.contrib.contenttypes.models import ContentType  # noqa: E402

from mednum.accounts.models import Role, RoleAssignment, User  # noqa: E402

TEST_PASSWORD = "un-mot-de-passe-solide-2024"


class UserFactory(factory.django.DjangoModelFactory):
    """A person, logging in with `TEST_PASSWORD` unless `password=` says otherwise."""

    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    is_active = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class SuperUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"admin{n}@exemple.fr")
    is_staff = True
    is_superuser = True


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    """A role given to someone. Pass `role="moderateur_hub"` (a seeded role's slug) and a scope:
    `region=`, `departement=`, `epci=` or `target=<model instance>`; none for a role valid everywhere."""

    class Meta:
        model = RoleAssignment
        exclude = ("target",)

    user = factory.SubFactory(UserFactory)
    role = "contributeur"
    target = None
    content_type = factory.LazyAttribute(
        lambda o: ContentType.objects.get_for_model(o.target) if o.target is not None else None
    )
    object_id = factory.LazyAttribute(lambda o: str(o.target.pk) if o.target is not None else None)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        role = kwargs.get("role")
        if isinstance(role, str):
            kwargs["role"] = Role.objects.get(slug=role)
        return super()._create(model_class, *args, **kwargs)


# --- Lieux (mednum.lieux): a lieu is built from its source record(s) ---------------------------------

import datetime as _dt  # noqa: E402

from django.utils import timezone as _timezone  # noqa: E402

from mednum.lieux.models import SourceRecord  # noqa: E402


def standard_values(**overrides) -> dict:
    """One lieu's 32 standard fields as the normaliser writes them (valid against the schema)."""
    from mednum.standard import schema

    values = dict.fromkeys(schema.field_names(), "")
    values.update(
        id="lieu-1",
        nom="Médiathèque Jean Moulin",
        commune="Montpellier",
        code_postal="34000",
        code_insee="34172",
        adresse="12 rue de la République",
        latitude="43.6107",
        longitude="3.8767",
        typologie="BIB",
        telephone="+33467000000",
        courriels="contact@mediatheque.example.fr",
        horaires="Mo-Fr 09:00-12:00,14:00-18:00",
        source="Source A",
        date_maj="2024-03-01",
        services="Aide aux démarches administratives|Maîtrise des outils numériques du quotidien",
        frais_a_charge="Gratuit",
        modalites_acces="Se présenter",
    )
    values.update({k: "" if v is None else str(v) for k, v in overrides.items()})
    return values


class SourceRecordFactory(factory.django.DjangoModelFactory):
    """A source record and, unless `lieu=` is given, a new lieu made from it (`merge.new_lieu_for`).

    `SourceRecordFactory(source="Hinaura", source_id="12", values={"nom": "…"}, est_demo=False)`.
    """

    class Meta:
        model = SourceRecord
        exclude = ("values",)

    source = "Source A"
    source_id = factory.Sequence(lambda n: f"lieu-{n}")
    values = factory.LazyFunction(dict)
    est_demo = False
    normalised = factory.LazyAttribute(
        lambda o: standard_values(**{"id": o.source_id, "source": o.source, **o.values})
    )
    raw = factory.LazyAttribute(lambda o: dict(o.normalised))
    content_hash = factory.Sequence(lambda n: f"{n:032x}")
    date_maj = factory.LazyAttribute(
        lambda o: _dt.date.fromisoformat(o.normalised["date_maj"]) if o.normalised.get("date_maj") else None
    )
    imported_at = factory.LazyFunction(_timezone.now)
    updated_at = factory.LazyFunction(_timezone.now)
    lieu = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from mednum.lieux.merge import new_lieu_for, refresh_lieu

        est_demo = kwargs.pop("est_demo", False)
        lieu = kwargs.pop("lieu", None)
        record = model_class(*args, **kwargs)
        if lieu is None:
            new_lieu_for(record, est_demo=est_demo)
        else:
            record.lieu = lieu
            record.save()
            refresh_lieu(lieu)
        return record


def make_lieu(source="Source A", source_id=None, est_demo=False, **values):
    """A lieu with one source record; keyword arguments are standard fields (`nom=`, `adresse=`…)."""
    kwargs = {"source": source, "values": values, "est_demo": est_demo}
    if source_id is not None:
        kwargs["source_id"] = source_id
    return SourceRecordFactory(**kwargs).lieu
