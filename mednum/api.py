"""The public JSON API (`/api/v1/`), one Ninja router per domain app."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="API mednum",
    version="1.0.0",
    description=(
        "API publique du réseau national de la médiation numérique : communes, lieux de médiation "
        "numérique (standard national v1.0.2)."
    ),
    urls_namespace="api",
)

from mednum.territoires.api import router as territoires_router  # noqa: E402

api.add_router("/", territoires_router)
api.add_router("/", "mednum.lieux.api.router")
