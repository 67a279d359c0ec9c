from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from partners.models import PartnerAPIKey

SCOPES = {"read", "write"}


class Command(BaseCommand):
    help = "Create a partner API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. the partner system's name.")
        parser.add_argument("--scopes", default="read", help="Comma-separated: read, write (default: read).")
        parser.add_argument("--expires-in-days", type=int, help="Expire the key after this many days.")

    def handle(self, *args, name, scopes, expires_in_days, **options):
        name = name.strip()
        if not name:
            raise CommandError("Give the key a name.")
        wanted = {scope.strip() for scope in scopes.split(",") if scope.strip()}
        if not wanted or wanted - SCOPES:
            raise CommandError(f"--scopes takes read and/or write, comma-separated; got {scopes!r}.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expiry = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        api_key, key = PartnerAPIKey.objects.create_key(
            name=name, can_read="read" in wanted, can_write="write" in wanted, expiry_date=expiry
        )
        self.stdout.write(f"Created API key {api_key.prefix}… '{name}' with scopes {', '.join(api_key.scopes)}. Store it now:")
        self.stdout.write(key)
