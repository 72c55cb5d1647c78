from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ops_platform.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"
