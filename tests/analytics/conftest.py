import pytest
from django.conf import settings

# The report engines that can run on this database: pandas everywhere, SQL on PostgreSQL.
ENGINES = ["pandas", "sql"] if "postgresql" in settings.DATABASES["default"]["ENGINE"] else ["pandas"]


@pytest.fixture(params=ENGINES)
def engine(request, db):
    return request.param
