"""The OpenAPI 3.1 description of the read API, served at /api/v2/openapi.json."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from feedback.choices import AgeGroup, AuthorRole, Criticality, Progress, SubmissionRoute
from feedback.languages import StoryLanguage


def _list_of(ref: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}


def _ok(schema: dict[str, Any], summary: str, params: list[str] | None = None) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in (params or [])],
            "responses": {
                "200": {
                    "description": "OK (JSON; XML with format=xml or Accept: application/xml)",
                    "content": {"application/json": {"schema": schema}},
                },
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"},
            },
        }
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def description(server_url: str) -> dict[str, Any]:
    opinion = {"$ref": "#/components/schemas/Opinion"}
    paths = {
        "/api/v2/opinions": _ok(
            _list_of("Opinion"),
            "Published stories, oldest publication first",
            [
                "skip",
                "take",
                "submittedonafter",
                "publishedafter",
                "tag",
                "nacs",
                "language",
                "order",
            ],
        ),
        "/api/v2/opinions/{id}": _ok(opinion, "One published story", ["id"]),
        "/api/v2/opinions/{id}/tags": _ok(_list_of("Tag"), "A story's tags", ["id"]),
        "/api/v2/opinions/{id}/responses": _ok(
            _list_of("Response"), "Responses to a story", ["id"]
        ),
        "/api/v2/opinions/{id}/healthservices": _ok(
            _list_of("HealthService"), "The services a story is about", ["id"]
        ),
        "/api/v2/responses": _ok(_list_of("Response"), "Published responses", ["skip", "take"]),
        "/api/v2/responses/{id}": _ok(
            {"$ref": "#/components/schemas/Response"}, "One response", ["id"]
        ),
        "/api/v2/healthservices": _ok(
            _list_of("HealthService"),
            "The service directory, ordered by code",
            ["skip", "take", "name", "type", "addedAfter"],
        ),
        "/api/v2/healthservices/{nacs}": _ok(
            {"$ref": "#/components/schemas/HealthService"}, "One service", ["nacsPath"]
        ),
    }
    date = {"type": "string", "format": "date"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Carevoice read API (Care Opinion API v2 compatible)",
            "version": "2",
            "description": "Published patient stories. Lists are bare arrays; page with skip "
            "and take (at most 100) until an empty array. At most 5 requests a second per key.",
        },
        "servers": [{"url": server_url}],
        "security": [{"subscriptionKey": []}, {"queryKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "subscriptionKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The value is 'SUBSCRIPTION_KEY <key>'.",
                },
                "queryKey": {"type": "apiKey", "in": "query", "name": "key"},
            },
            "parameters": {
                # Only digits reach the API (the routes take <int:pk>).
                "id": _path("id", {"type": "integer", "minimum": 0}),
                "nacsPath": _path("nacs"),
                "skip": _query("skip", "How many to skip", {"type": "integer", "minimum": 0}),
                "take": _query(
                    "take", "How many to return (at most 100)", {"type": "integer", "maximum": 100}
                ),
                "submittedonafter": _query(
                    "submittedonafter",
                    "Sent on or after this day (stories are dated by day, not time)",
                    date,
                ),
                "publishedafter": _query("publishedafter", "Published after", date),
                "tag": _query("tag", "Only stories with this tag", {"type": "string"}),
                "nacs": _query(
                    "nacs", "Only stories about the service with this code", {"type": "string"}
                ),
                "language": _query(
                    "language",
                    "Only stories told in this language (ISO 639-1: en, cy)",
                    {"type": "string", "enum": StoryLanguage.values},
                ),
                "order": _query(
                    "dateofpublicationorder",
                    "ascending (default) or descending",
                    {"type": "string", "enum": ["ascending", "descending"]},
                ),
                "name": _query("name", "Part of the service's name", {"type": "string"}),
                "type": _query("type", "The service's type", {"type": "string"}),
                "addedAfter": _query("addedAfter", "Added to the directory after", date),
            },
            "responses": {
                "Error": {
                    "description": "A problem, explained",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
            "schemas": {
                "Opinion": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "title": {"type": "string"},
                        "body": {"type": "string", "description": "Markdown"},
                        "dateOfSubmission": {
                            "type": "string",
                            "format": "date-time",
                            "description": "The day the story was sent (its date in the UK), "
                            "never the time: the time of day is always 00:00:00Z, so that a "
                            "story cannot be matched against an organisation's own web-server "
                            "or kiosk logs. The format is unchanged, so clients parse it as "
                            "before.",
                        },
                        "dateOfPublication": {"type": "string", "format": "date-time"},
                        "criticality": {
                            "type": ["string", "null"],
                            "enum": [*Criticality.values, None],
                        },
                        "progress": {
                            "type": "string",
                            "enum": Progress.values,
                            "description": "How far the key's own organisation (for a network "
                            "lead's key, the furthest of the organisations it reads) has taken "
                            "the story; another organisation's work on it never shows here",
                        },
                        "authorRole": {"type": "string", "enum": AuthorRole.values},
                        "authorAgeGroup": {"type": "string", "enum": AgeGroup.values},
                        "submissionRoute": {"type": "string", "enum": SubmissionRoute.values},
                        "language": {
                            "type": "string",
                            "enum": StoryLanguage.values,
                            "description": "The language the story was told and published in "
                            "(ISO 639-1)",
                        },
                        "author": {"type": ["string", "null"]},
                        "responseCount": {"type": "integer"},
                        "hasResponse": {"type": "boolean"},
                        "dateOfLastResponse": {"type": ["string", "null"], "format": "date-time"},
                        "links": _list_of("Link"),
                    },
                },
                "Link": {
                    "type": "object",
                    "properties": {
                        "relation": {"type": "string"},
                        "id": {"type": "string"},
                        "link": {"type": "string", "format": "uri"},
                    },
                },
                "Tag": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "group": {"type": "string"},
                        "polarity": {"type": "integer", "enum": [-1, 0, 1]},
                    },
                },
                "HealthService": {
                    "type": "object",
                    "properties": {
                        "nacs": {"type": "string"},
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "organisation": {"type": "string"},
                        "siteNacs": {"type": ["string", "null"]},
                    },
                },
                "Response": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "changeScore": {"type": "string"},
                        "changeInt": {"type": "integer"},
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
                },
            },
        },
    }


def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(description(request.build_absolute_uri("/").rstrip("/")))
