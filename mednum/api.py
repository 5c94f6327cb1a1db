"""The public JSON API (`/api/v1/`), one Ninja router per domain app."""

from ninja import NinjaAPI, Swagger

api = NinjaAPI(
    title="API mednum",
    version="1.0.0",
    description=(
        "API publique du réseau national de la médiation numérique : communes, lieux de médiation "
        "numérique (standard national v1.0.2)."
    ),
    urls_namespace="api",
    # No deep links: Swagger UI would put a link inside each operation's button, which keyboard and
    # screen-reader users cannot reach as such (nested interactive elements).
    docs=Swagger(settings={"deepLinking": False}),
)

from mednum.territoires.api import router as territoires_router  # noqa: E402

api.add_router("/", territoires_router)
api.add_router("/", "mednum.lieux.api.router")
