# Dates in ISO 8601 in every language (ops_platform/formats/dates.py); numbers keep Django's English grouping.
from ops_platform.formats.dates import *  # noqa: F403
