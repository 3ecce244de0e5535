from rest_framework.test import APIClient

TOKEN = "/api/v1/auth/token/"


def test_a_token_from_username_and_password_opens_the_api(county, password):
    client = APIClient()
    response = client.post(TOKEN, {"username": "village_a", "password": password}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    units = client.get("/api/v1/units/")
    assert units.status_code == 200
    assert county.village_a.code in {item["code"] for item in units.json()["results"]}
    assert client.get(f"/api/v1/units/{county.village_b.code}/").status_code == 404


def test_the_same_token_comes_back_on_every_call(county, password):
    client = APIClient()
    first = client.post(TOKEN, {"username": "village_a", "password": password}).json()["token"]
    second = client.post(TOKEN, {"username": "village_a", "password": password}).json()["token"]
    assert first == second


def test_a_wrong_password_gets_no_token(county):
    response = APIClient().post(TOKEN, {"username": "village_a", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_token_without_a_post_reaches_me_but_no_data(county, password):
    client = APIClient()
    token = client.post(TOKEN, {"username": "outsider", "password": password}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/units/").status_code == 403
    assert client.get("/api/v1/posts/").status_code == 403


def test_session_authentication_works_too(county, client):
    client.force_login(county.users.village_a)
    assert client.get("/api/v1/units/").status_code == 200
