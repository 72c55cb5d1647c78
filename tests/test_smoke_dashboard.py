from ops_platform.core.roles import Role


def test_dashboard_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_dashboard_shows_figures_for_an_analyst(client_for):
    client = client_for(Role.ANALYST)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Events stored" in response.content
