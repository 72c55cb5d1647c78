import pytest
from django.db import connection


@pytest.fixture(params=["pandas", "sql"])
def engine(request, db):
    """Each report engine that can run here: pandas everywhere, SQL on PostgreSQL."""
    if request.param == "sql" and connection.vendor != "postgresql":
        pytest.skip("the SQL engine runs on PostgreSQL")
    return request.param
