"""How stable the tiers are: per complete week, the share of tiered live merchants the nightly run moved."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from merchants.selectors import tier_stability


class Command(BaseCommand):
    help = "Per complete week: merchants with a tier, tier moves (first tiers not counted), falls to at-risk, share."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", help="YYYY-MM-DD: weeks starting on or after")
        parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD: weeks starting on or before")

    def handle(self, *args, **options):
        bounds = {}
        for key in ("date_from", "date_to"):
            if options[key]:
                bounds[key] = parse_date(options[key])
                if bounds[key] is None:
                    raise CommandError(f"--{key[5:]} must be YYYY-MM-DD.")
        rows = tier_stability(**bounds)
        self.stdout.write("week        merchants  moved  to_at_risk  share")
        for row in rows:
            self.stdout.write(f"{row['week']}  {row['merchants']:9d}  {row['moved']:5d}  {row['to_at_risk']:10d}  "
                              f"{100 * row['share']:5.1f}%")
        if rows:
            shares = [row["share"] for row in rows]
            self.stdout.write(f"median {100 * sorted(shares)[len(shares) // 2]:.1f}%, max {100 * max(shares):.1f}%")
