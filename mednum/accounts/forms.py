"""Account forms: log in with the e-mail address, reset a password, manage people in the admin."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms

from mednum.accounts.models import User


def normalize_email(value: str | None) -> str:
    return (value or "").strip().lower()


class EmailAuthenticationForm(auth_forms.AuthenticationForm):
    """Django's login form, asking for the e-mail address.

    The field keeps Django's name, ``username`` (so django-axes, configured with
    ``AXES_USERNAME_FORM_FIELD = "username"``, counts failures per address); its value is
    lower-cased so that « Marie@Exemple.fr » and « marie@exemple.fr » are one and the same.
    """

    username = forms.CharField(
        label="Adresse e-mail",
        max_length=254,
        # No autofocus on public pages: it skipped the page's skip links for keyboard users.
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": "Adresse e-mail ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }

    def clean_username(self):
        return normalize_email(self.cleaned_data.get("username"))


class EmailAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form: same e-mail handling, French messages that read well."""

    username = forms.CharField(
        label="Adresse e-mail", max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Adresse e-mail ou mot de passe incorrect, ou compte sans accès à l'administration.",
        "inactive": "Ce compte est désactivé.",
    }

    def clean_username(self):
        return normalize_email(self.cleaned_data.get("username"))


class EmailPasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Adresse e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class UserAdminCreationForm(auth_forms.AdminUserCreationForm):
    """Admin "add user" form: the e-mail address instead of a username."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def clean_email(self):
        email = normalize_email(self.cleaned_data.get("email"))
        if email and User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Un compte utilise déjà cette adresse e-mail.")
        return email


class UserAdminChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        email = normalize_email(self.cleaned_data.get("email"))
        if email and User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Un compte utilise déjà cette adresse e-mail.")
        return email
