# Dates in ISO 8601 in every language (ops_platform/formats/dates.py), not Django's "2026年12月8日".
from ops_platform.formats.dates import *  # noqa: F403

# Group thousands with commas, as Chinese business reports do (Django leaves them ungrouped).
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
