import pytest

from tests.factories import PASSWORD, UserFactory


@pytest.mark.django_db
def test_login_with_the_right_password_lands_on_the_dashboard(client):
    user = UserFactory(username="dana", role="Front Desk")
    response = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"] == user


@pytest.mark.django_db
def test_login_with_a_wrong_password_says_so_and_stays_out(client):
    UserFactory(username="dana")
    response = client.post("/accounts/login/", {"username": "dana", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_login_returns_to_the_page_asked_for(client):
    UserFactory(username="dana", role="Front Desk")
    response = client.post(
        "/accounts/login/", {"username": "dana", "password": PASSWORD, "next": "/customers/"}
    )
    assert response["Location"] == "/customers/"


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(front_desk_client):
    assert front_desk_client.get("/accounts/logout/").status_code == 405
    response = front_desk_client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert front_desk_client.get("/").status_code == 302
