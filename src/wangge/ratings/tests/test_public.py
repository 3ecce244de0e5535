"""Residents rate the public service providers without an account: choosing the place, the providers
that serve it, idempotency by client id, the rate limit, messages naming the field, nothing personal kept."""

import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.ratings import services
from wangge.ratings.choices import ProviderKind
from wangge.ratings.models import ResidentRating, ServiceProvider

pytestmark = pytest.mark.django_db
URL = reverse("ratings:public")


@pytest.fixture
def providers(county):
    def provider(name, kind, unit, active=True):
        return ServiceProvider.objects.create(name=name, kind=kind, unit=unit, is_active=active)

    return SimpleNamespace(
        water=provider("县自来水公司", ProviderKind.WATER, county.county),
        mobile=provider("移动公司", ProviderKind.TELECOM, county.county),
        gas=provider("停业燃气公司", ProviderKind.GAS, county.county, active=False),
        town_a=provider("甲镇供水站", ProviderKind.WATER, county.town_a),
        town_b=provider("乙镇供水站", ProviderKind.WATER, county.town_b),
    )


def post(client, code, provider, key=None, **fields):
    data = {
        "uuid": str(key or uuid.uuid4()),
        "provider": provider.pk,
        "quality": 4,
        "responsiveness": 3,
        "transparency": 5,
        **fields,
    }
    return client.post(f"{URL}?unit={code}", data)


def test_without_a_place_the_resident_picks_their_township(county, providers, client):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="pick-unit"' in html
    assert f'value="{county.town_a.code}"' in html and f'value="{county.town_b.code}"' in html
    assert f'value="{county.village_a.code}"' not in html


def test_an_unknown_place_names_the_field(county, client):
    response = client.get(URL, {"unit": "999999"})
    assert response.status_code == 404 and 'data-error="unit"' in response.content.decode()


def test_the_page_lists_the_active_providers_serving_the_place(county, providers, client):
    html = client.get(URL, {"unit": county.cell_a11.code}).content.decode()
    for shown in (providers.water, providers.mobile, providers.town_a):
        assert f'name="provider" value="{shown.pk}"' in html
    for hidden in (providers.gas, providers.town_b):
        assert f'name="provider" value="{hidden.pk}"' not in html
    assert 'name="uuid"' in html


def test_a_rating_is_kept_with_the_place_only_and_a_retry_changes_nothing(county, providers, client):
    key = uuid.uuid4()
    response = post(client, county.cell_a11.code, providers.town_a, key=key, comment="  报修很快  ")
    assert (
        response.status_code == 200 and f'data-provider="{providers.town_a.pk}"' in response.content.decode()
    )
    rating = ResidentRating.objects.get()
    assert (rating.provider, rating.unit, rating.quality, rating.responsiveness, rating.transparency) == (
        providers.town_a,
        county.cell_a11,
        4,
        3,
        5,
    )
    assert rating.comment == "报修很快" and rating.uuid == key
    # Nothing about the resident: no account, no address, no network address, only the unit.
    assert {f.name for f in ResidentRating._meta.concrete_fields} == {
        "id",
        "uuid",
        "provider",
        "unit",
        "quality",
        "responsiveness",
        "transparency",
        "comment",
        "rated_at",
    }
    again = post(client, county.cell_a11.code, providers.town_a, key=key, quality=1)
    assert again.status_code == 200
    assert ResidentRating.objects.count() == 1 and ResidentRating.objects.get().quality == 4
    assert history_for(rating).count() == 1


def test_bad_input_gets_a_message_naming_the_field(county, providers, client):
    response = post(client, county.cell_a11.code, providers.water, quality="", transparency=9)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-error="quality"' in html and 'data-error="transparency"' in html
    assert 'data-error="responsiveness"' not in html
    response = post(client, county.cell_a11.code, providers.town_b)  # 乙镇's station does not serve 一格
    assert 'data-error="provider"' in response.content.decode()
    response = post(client, county.cell_a11.code, providers.water, comment="有事打13812345678")
    assert 'data-error="comment"' in response.content.decode()
    assert not ResidentRating.objects.exists()


def test_the_service_refuses_a_provider_that_does_not_serve_the_place(county, providers):
    def rate(provider, unit):
        return services.rate_provider(
            provider=provider,
            unit=unit,
            quality=3,
            responsiveness=3,
            transparency=3,
            client_uuid=uuid.uuid4(),
        )

    for provider, unit in (
        (providers.town_b, county.cell_a11),
        (providers.gas, county.cell_a11),
        (providers.town_a, county.county),
    ):
        with pytest.raises(ValidationError) as excinfo:
            rate(provider, unit)
        assert set(excinfo.value.message_dict) == {"provider"}
    with pytest.raises(ValidationError) as excinfo:
        services.rate_provider(
            provider=providers.water,
            unit=county.town_a,
            quality=0,
            responsiveness=3,
            transparency="",
            client_uuid=uuid.uuid4(),
        )
    assert set(excinfo.value.message_dict) == {"quality", "transparency"}
    assert rate(providers.water, county.town_a)[1]


def test_sending_is_rate_limited_per_address(county, providers, client, settings):
    settings.WANGGE_PUBLIC_RATING_RATE = "2/min"
    assert post(client, county.town_a.code, providers.water).status_code == 200
    assert post(client, county.town_a.code, providers.water).status_code == 200
    refused = post(client, county.town_a.code, providers.water)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert ResidentRating.objects.count() == 2
    assert client.get(URL, {"unit": county.town_a.code}).status_code == 200  # reading the page is not limited


def test_a_place_without_providers_says_so(county, client):
    html = client.get(URL, {"unit": county.town_b.code}).content.decode()
    assert "data-no-providers" in html and "provider-rating-form" not in html
