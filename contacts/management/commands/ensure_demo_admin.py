"""`manage.py ensure_demo_admin`: the demo's superuser, created or reset, and its login printed.

Safe to run again: an existing user of that name is made an active superuser with the demo
password again. Only with DEBUG on (the local demo): on a real installation a known
password would be a door left open, so create administrators there with createsuperuser.
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contacts.roles import AGENCY_STAFF, SALES
from events.demo.catalog import SALES_PASSWORD

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "ror-demo-admin"
# An agency staff member beside the superuser: what staff (not administrators) see.
STAFF_USERNAME = "staff.demo"
STAFF_PASSWORD = "demo-staff"


class Command(BaseCommand):
    help = "Create or reset the demo superuser (DEBUG only) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=DEFAULT_USERNAME)
        parser.add_argument(
            "--password", default=os.environ.get("DEMO_ADMIN_PASSWORD") or DEFAULT_PASSWORD,
            help=f"Default: $DEMO_ADMIN_PASSWORD, else {DEFAULT_PASSWORD!r}.",
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help="The admin address to print.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "ensure_demo_admin sets a known password and only runs with DJANGO_DEBUG=1 (the local demo). "
                "Create administrators with `manage.py createsuperuser`."
            )
        username, password = options["username"], options["password"]
        User = get_user_model()
        with transaction.atomic():
            user, created = User.objects.select_for_update().get_or_create(
                username=username, defaults={"email": f"{username}@agency.example"}
            )
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            staff, _ = User.objects.select_for_update().get_or_create(
                username=STAFF_USERNAME, defaults={"email": f"{STAFF_USERNAME}@agency.example", "first_name": "Sam",
                                                   "last_name": "Staff"},
            )
            staff.is_staff, staff.is_superuser, staff.is_active = True, False, True
            staff.set_password(STAFF_PASSWORD)
            staff.save()
            staff.groups.add(Group.objects.get(name=AGENCY_STAFF))
            sales = list(User.objects.filter(groups__name=SALES, username__startswith="sales.", is_active=True)
                         .order_by("username").values_list("username", flat=True))
        self.stdout.write(self.style.SUCCESS(f"{'Created' if created else 'Reset'} the demo superuser."))
        self.stdout.write(f"Log in at {options['url']} as {username} / {password}")
        self.stdout.write(f"  agency staff: {STAFF_USERNAME} / {STAFF_PASSWORD}")
        if sales:
            self.stdout.write(f"  sales: {', '.join(sales)} / {SALES_PASSWORD}")
        # The demo's settings come from the Makefile (DJANGO_DEBUG=1): a key made without them fails to start.
        self.stdout.write(f"Partner API at {options['url'].removesuffix('/admin/')}/api/v1/; a key for it: "
                          'make api-key NAME="My partner" SCOPES=read,write')
