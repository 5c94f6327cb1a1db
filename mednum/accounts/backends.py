from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Authenticate with the e-mail address, whatever its case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        from django.contrib.auth import get_user_model

        User = get_user_model()
        email = (username or kwargs.get("email") or "").strip().lower()
        if not email or password is None or len(email) > 254 or "\x00" in email:  # no account has such an address
            return None
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            User().set_password(password)  # same cost whether or not the account exists
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
