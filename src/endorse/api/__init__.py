"""The developer API (``/api/v1/``): its wire format, shared by the server and the client.

:mod:`endorse.api.models` types every request and response body;
:mod:`endorse.api.openapi` builds the OpenAPI document the index serves.
"""
