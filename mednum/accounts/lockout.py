"""django-axes glue: count failed logins per e-mail address, whatever its case.

Settings: ``AXES_USERNAME_CALLABLE = "mednum.accounts.lockout.axes_username"``.
"""


def axes_username(request, credentials=None) -> str | None:
    """The address axes counts failures for, lower-cased (admin login included)."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        value = data.get("username")
    return value.strip().lower() if value else None
