"""Account pages: log in and out, forgotten password, password change, "Mon compte"."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse_lazy

from mednum.accounts.forms import EmailAuthenticationForm, EmailPasswordResetForm


class LoginView(auth_views.LoginView):
    authentication_form = EmailAuthenticationForm
    template_name = "accounts/connexion.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Logging out is a POST; a GET shows a page with the button (for links from e-mails, bookmarks…)."""

    http_method_names = ["get", "post", "options"]
    template_name = "accounts/deconnexion.html"

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, {"next": self.get_redirect_url()})

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            messages.success(request, "Vous êtes déconnecté·e.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = EmailPasswordResetForm
    template_name = "accounts/mot_de_passe_oublie.html"
    email_template_name = "accounts/emails/mot_de_passe_oublie.txt"
    subject_template_name = "accounts/emails/mot_de_passe_oublie_objet.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self):
        return {"site_name": settings.MEDNUM_SITE_NAME}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/mot_de_passe_oublie_envoye.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/mot_de_passe_nouveau.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever proves they own the address may log in again at once, even after a lockout.
        axes_reset(username=form.user.get_username())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/mot_de_passe_reinitialise.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/mot_de_passe_modifier.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/mot_de_passe_modifie.html"


@login_required
def profile(request):
    assignments = request.user.role_assignments.select_related(
        "role", "region", "departement", "epci", "content_type"
    ).order_by("role__label")
    return render(request, "accounts/mon_compte.html", {"assignments": assignments})
