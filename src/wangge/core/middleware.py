import uuid

from .audit import set_request_id


class RequestIdMiddleware:
    """Tag each request with an id that the change log records, so one action's rows can be grouped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = str(uuid.uuid4())
        request.id = request_id
        set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            set_request_id("")
        response["X-Request-ID"] = request_id
        return response
