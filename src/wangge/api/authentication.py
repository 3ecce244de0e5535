"""Authentication for the API views.

Token comes first on purpose: DRF answers a request without valid credentials with the
`WWW-Authenticate` header of the *first* authentication class. With Token first, an anonymous call or
an invalid token gets 401 and `WWW-Authenticate: Token`; with Session first it would be a bare 403 that
a client cannot tell from "you may not". Once REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES is in
this order, the views can drop the explicit attribute.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

AUTHENTICATION_CLASSES = (TokenAuthentication, SessionAuthentication)


@extend_schema(
    tags=["auth"],
    summary="Exchange a username and password for an API token",
    description=(
        "Answers the caller's token (the same one on every call until it is revoked in the admin). Send "
        "it as `Authorization: Token <token>`. Any active account may have one; what it can see still "
        "comes from its posts."
    ),
    request=AuthTokenSerializer,
    responses=inline_serializer("AuthToken", {"token": serializers.CharField()}),
)
class ObtainTokenView(ObtainAuthToken):
    authentication_classes = ()
