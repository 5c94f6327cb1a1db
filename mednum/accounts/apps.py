from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mednum.accounts"
    label = "accounts"
    verbose_name = "Comptes"
