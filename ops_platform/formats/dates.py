"""One way to write a date in every language (issue 17): ISO 8601, as the charts, the date inputs' values, the
exports and the API write it. Django's defaults mixed "Dec. 8, 2026" (English), "2026年12月8日" (Chinese) and the
ISO dates the templates and charts print; each language's formats module takes these so that a page never shows two
shapes of date. Times are 24-hour. Imported by ``ops_platform/formats/<language>/formats.py``."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
FIRST_DAY_OF_WEEK = 1  # Monday, as the weeks of every report (DESIGN.md)
