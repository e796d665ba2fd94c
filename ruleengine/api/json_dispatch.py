"""A DRF view's dispatch without DRF's Request, for the evaluate paths' plain JSON POSTs.

DRF wraps every request in a `Request` (parser and content negotiation, a stream wrapper, an
attribute proxy to the Django request that every `request.META` goes through) and renders through
its `Response`. On the evaluate path that wrapping cost about a seventh of a request's CPU
(pyinstrument, benchmarks/api.py). `JsonDispatchMixin.dispatch` runs the same steps of
`APIView.dispatch` (content negotiation, authentication, permissions, throttles, the handler,
`handle_exception`, `finalize_response`) with a `JsonRequest`: the view's one parser reads the
body when `data` is first read, and the view's authenticators run when `user` is first read, as
DRF's Request does. So the answers, their error shapes and headers are DRF's, and the OpenAPI
schema (built from the view classes) is unchanged.

Anything but a JSON POST with credentials goes through DRF's own dispatch, so the refusals DRF
gives before a view runs (405, 415, a missing body or Authorization header, forced test
authentication) stay DRF's.
"""

from rest_framework.settings import api_settings

JSON_MEDIA_TYPE = "application/json"


class JsonRequest:
    """What an evaluate view and its authentication, permission and throttle classes read of a
    DRF Request, read straight from the Django request; other attributes pass through to it."""

    def __init__(self, request, view):
        self._request = request
        self._view = view
        self.META = request.META
        self.method = request.method
        self.path = request.path
        self.request_id = getattr(request, "request_id", "")
        self.authenticators = view.get_authenticators()
        self.successful_authenticator = None
        self.accepted_renderer = None
        self.accepted_media_type = None
        self._user = self._auth = self._data = None
        self._authenticated = self._parsed = False
        self._tenant_role = None  # ruleengine.api.access caches the caller's tenant here

    def __getattr__(self, name):
        # Only for what is not set in __init__ (rare on this path): the Django request's.
        return getattr(self._request, name)

    @property
    def data(self):
        if not self._parsed:
            self._parsed = True
            try:
                self._data = self._view.parser_classes[0]().parse(self._request, JSON_MEDIA_TYPE)
            except Exception:
                self._data = {}  # as DRF: an error answers once, not again on a second read
                raise
        return self._data

    @property
    def user(self):
        if not self._authenticated:
            self._authenticate()
        return self._user

    @user.setter
    def user(self, value):
        self._authenticated = True
        self._user = self._request.user = value

    @property
    def auth(self):
        if not self._authenticated:
            self._authenticate()
        return self._auth

    def _authenticate(self):
        """DRF's Request._authenticate: the first authenticator that answers."""
        self._authenticated = True
        for authenticator in self.authenticators:
            try:
                user_auth = authenticator.authenticate(self)
            except Exception:
                self._unauthenticated()
                raise
            if user_auth is not None:
                self.successful_authenticator = authenticator
                self.user, self._auth = user_auth
                return
        self._unauthenticated()

    def _unauthenticated(self):
        self.successful_authenticator = None
        user_class = api_settings.UNAUTHENTICATED_USER
        self.user = user_class() if user_class else None
        self._auth = None


def plain_json_post(request) -> bool:
    """A POST with a JSON body and an Authorization header, not forced by a test client."""
    meta = request.META
    content_type = meta.get("CONTENT_TYPE", "")
    content_length = meta.get("CONTENT_LENGTH", "")
    return (
        request.method == "POST"
        and content_type.partition(";")[0].strip().lower() == JSON_MEDIA_TYPE
        and content_length.isdigit()
        and int(content_length) > 0
        and "HTTP_AUTHORIZATION" in meta
        # DRF's test client sets both on every request, to None unless it forces a user.
        and getattr(request, "_force_auth_user", None) is None
        and getattr(request, "_force_auth_token", None) is None
    )


class JsonDispatchMixin:
    """APIView.dispatch with a JsonRequest for plain JSON POSTs (before APIView in the bases)."""

    def dispatch(self, request, *args, **kwargs):
        if not plain_json_post(request):
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs = args, kwargs
        json_request = JsonRequest(request, self)
        self.request = json_request
        self.headers = self.default_response_headers
        try:
            self.initial(json_request, *args, **kwargs)
            handler = getattr(self, "post", self.http_method_not_allowed)
            response = handler(json_request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(json_request, response, *args, **kwargs)
        return self.response
