from django.conf import settings


def site(request):
    return {
        "MEDNUM_STATE_BRAND": settings.MEDNUM_STATE_BRAND,
        "MEDNUM_SITE_NAME": settings.MEDNUM_SITE_NAME,
        "MEDNUM_SITE_TAGLINE": settings.MEDNUM_SITE_TAGLINE,
        "MEDNUM_OPERATOR": settings.MEDNUM_OPERATOR,
        "MEDNUM_CONTACT_EMAIL": settings.MEDNUM_CONTACT_EMAIL,
        # Searching by address needs a geocoder: without one, forms do not suggest typing an address.
        "MEDNUM_GEOCODEUR": bool(settings.MEDNUM_GEOCODER_URL),
    }
