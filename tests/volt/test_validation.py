"""What Volt refuses, and how it says so: E.164 phones, required arguments, enums, bodies, media, times,
list rules and cursors. Resolver errors carry the root field's path (and null data for a non-null
field); errors found before execution are gqlgen's 422s."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PRIMARY, WILE, Volt

SEND = (
    "mutation s($to: String!, $from: String!, $body: String!, $media: [String!]) { createMessage(to: $to, "
    "from: $from, body: $body, media: $media) { id } }"
)


@pytest.mark.parametrize(
    "to", ["5555556893", "+1 555 555 6893", "+1-555-555-6893", "+0555555", "+1234567890123456", "(555) 555-6893", ""]
)
def test_create_message_refuses_a_destination_that_is_not_e164(volt: Volt, to: str) -> None:
    response = volt.gql(SEND, {"to": to, "from": PRIMARY, "body": "hi"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None  # createMessage is non-null: the error nulls the whole data
    assert body["errors"] == [
        {
            "message": f"to must be an E.164 phone number such as +15555550123 (got {to!r})",
            "locations": [{"line": 1, "column": 79}],
            "path": ["createMessage"],
        }
    ]


def test_create_message_from_a_number_outside_the_organization_is_refused(volt: Volt) -> None:
    error = volt.error(SEND, {"to": WILE, "from": "+15555550000", "body": "hi"})
    assert error["message"] == "from +15555550000 is not a phone number on this organization's Volt accounts"
    assert error["path"] == ["createMessage"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"body": "   "}, "body must not be blank (or attach media)"),
        ({"body": "x" * 1601}, "body is longer than 1600 characters (1601)"),
        ({"media": ["ftp://example.com/a.png"]}, "media must be public http(s) URLs (got 'ftp://example.com/a.png')"),
        ({"media": [f"https://example.com/{i}.png" for i in range(11)]}, "at most 10 media URLs per message (got 11)"),
    ],
)
def test_create_message_checks_body_and_media(volt: Volt, variables: dict[str, Any], message: str) -> None:
    error = volt.error(SEND, {"to": WILE, "from": PRIMARY, "body": "hi", **variables})
    assert error["message"] == message


def test_media_alone_is_a_message(volt: Volt) -> None:
    data = volt.data(SEND, {"to": WILE, "from": PRIMARY, "body": "", "media": ["https://example.com/a.png"]})
    assert data["createMessage"]["id"].startswith("rf_")


def test_a_missing_variable_is_gqlgens_must_be_defined(volt: Volt) -> None:
    response = volt.gql(SEND, {"from": PRIMARY, "body": "hi"})
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "message": "must be defined",
                "path": ["variable", "to"],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
        "data": None,
    }


def test_a_null_variable_is_gqlgens_cannot_be_null(volt: Volt) -> None:
    response = volt.gql(SEND, {"to": None, "from": PRIMARY, "body": "hi"})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "message": "cannot be null",
        "path": ["variable", "to"],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }


def test_a_missing_literal_argument_is_a_validation_error(volt: Volt) -> None:
    response = volt.gql('{ contact(primaryPhone: "+15555554321") { id } }')
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["message"] == (
        'Field "contact" argument "phoneNumber" of type "String!" is required, but it was not provided.'
    )
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["locations"] == [{"line": 1, "column": 3}]


def test_an_unknown_field_and_a_bad_enum_are_validation_errors(volt: Volt) -> None:
    response = volt.gql("{ webhooks { id secret } }")
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == 'Cannot query field "secret" on type "Webhook".'
    wave = (
        'mutation { scheduleWave(type: group, status: scheduled, wave: {waveName: "x", scheduledTime: '
        '"2030-01-01 00:00:00", messageBody: "x", listNames: ["All"]}) { id } }'
    )
    response = volt.gql(wave)
    assert response.status_code == 422
    assert "WaveType" in response.json()["errors"][0]["message"]


def test_a_syntax_error_is_a_parse_failure(volt: Volt) -> None:
    response = volt.gql("{ webhooks { id ")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert response.json()["data"] is None


def test_contact_lookup_validates_both_numbers_and_is_null_when_unknown(volt: Volt) -> None:
    query = "query c($p: String!, $n: String!) { contact(primaryPhone: $p, phoneNumber: $n) { id } }"
    assert "phoneNumber must be an E.164" in volt.error(query, {"p": PRIMARY, "n": "555"})["message"]
    assert "primaryPhone must be an E.164" in volt.error(query, {"p": "primary", "n": WILE})["message"]
    assert volt.data(query, {"p": PRIMARY, "n": "+15550001111"}) == {"contact": None}


def test_create_or_update_contact_rules(volt: Volt) -> None:
    mutation = (
        "mutation c($name: String!, $phone: String!, $fields: [ContactCustomFieldInput]!) { "
        'createOrUpdateContact(name: $name, phoneNumber: $phone, accountPhone: "+15555554321", '
        "customFields: $fields, blocked: false) { id } }"
    )
    assert volt.error(mutation, {"name": " ", "phone": WILE, "fields": []})["message"] == "name must not be blank"
    assert "phoneNumber must be an E.164" in volt.error(mutation, {"name": "A", "phone": "12", "fields": []})["message"]
    error = volt.error(mutation, {"name": "A", "phone": WILE, "fields": [{"key": " ", "value": "x"}]})
    assert error["message"] == "customFields: key must not be blank"
    response = volt.gql(mutation, {"name": "A", "phone": WILE, "fields": [{"key": "a"}]})
    assert response.status_code == 422  # ContactCustomFieldInput.value is required


SCHEDULE = 'mutation s($m: MessageSchedulingJob!) { scheduleMessage(primaryPhone: "+15555554321", message: $m) { id } }'


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ({"scheduledTime": "tomorrow"}, "scheduledTime must be UTC \"YYYY-MM-DD HH:MM:SS\" (got 'tomorrow')"),
        ({"scheduledTime": "2030-02-30 10:00:00"}, 'scheduledTime must be UTC "YYYY-MM-DD HH:MM:SS"'),
        ({"contactNumbers": []}, "contactNumbers must name at least one phone number"),
        ({"contactNumbers": ["+15555556893", "555"]}, "contactNumbers must be an E.164 phone number"),
    ],
)
def test_schedule_message_rules(volt: Volt, job: dict[str, Any], message: str) -> None:
    base = {"scheduledTime": "2030-01-01 10:00:00", "messageBody": "Hi", "contactNumbers": [WILE]}
    assert volt.error(SCHEDULE, {"m": {**base, **job}})["message"].startswith(message)


WAVE = (
    "mutation w($type: WaveType!, $p: String, $names: [String!]!) { scheduleWave(type: $type, primaryPhone: $p, "
    'status: scheduled, wave: {waveName: "W", scheduledTime: "2030-01-01 10:00:00", messageBody: "Hi", '
    "listNames: $names}) { id } }"
)


def test_schedule_wave_rules(volt: Volt) -> None:
    assert volt.error(WAVE, {"type": "account", "names": ["All"]})["message"] == (
        "primaryPhone is required for an account wave"
    )
    assert volt.error(WAVE, {"type": "account", "p": PRIMARY, "names": ["Nope"]})["message"] == (
        'listNames: no list named "Nope" on this account'
    )
    assert volt.error(WAVE, {"type": "account", "p": PRIMARY, "names": []})["message"] == (
        "listNames must name at least one list"
    )


LIST = 'mutation l($q: ListQuery!) { createOrUpdateList(primaryPhone: "+15555554321", listQuery: $q) { id name } }'


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"listName": "All"}, 'the "All" list is built in and cannot be changed'),
        ({"listName": "X", "querySourceListName": "Nope"}, 'querySourceListName: no list named "Nope" on this account'),
        (
            {"listName": "X", "queryCustomFields": [{"field": "shoe_size", "operator": "gt", "queryValue": "9"}]},
            'queryCustomFields: custom field "shoe_size" is not defined on the organization',
        ),
        (
            {"listName": "X", "queryCustomFields": [{"field": "species", "operator": "gt", "queryValue": "9"}]},
            'queryCustomFields: operator "gt" is not valid for string field "species" (use is, has, nc)',
        ),
    ],
)
def test_list_query_rules(volt: Volt, query: dict[str, Any], message: str) -> None:
    assert volt.error(LIST, {"q": query})["message"] == message


def test_list_not_found_is_an_error_because_list_is_non_null(volt: Volt) -> None:
    response = volt.gql('{ list(primaryPhone: "+15555554321", listName: "Nope") { id } }')
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == 'no list named "Nope" on the account of +15555554321'
    assert body["errors"][0]["path"] == ["list"]


@pytest.mark.parametrize("cursor", ["not base64!", "aGVsbG8=", "MjAyNS0wMS0wMVQwMDowMDowMFp8eA=="])
def test_a_cursor_that_is_not_ours_is_refused(volt: Volt, cursor: str) -> None:
    query = (
        'query c($b: String) { conversation(to: "+15555556893", from: "+15555554321", before: $b) '
        "{ pageInfo { totalItems } } }"
    )
    error = volt.error(query, {"b": cursor})
    assert error["message"] == f"before: invalid cursor {cursor!r}"
    assert error["path"] == ["conversation"]


def test_register_webhook_needs_an_http_url(volt: Volt) -> None:
    mutation = "mutation r($u: String!) { registerWebhook(url: $u) { id } }"
    response = volt.gql(mutation, {"u": "ftp://example.com/hook"})
    body = response.json()
    assert body == {
        "data": {"registerWebhook": None},
        "errors": [
            {
                "message": "url must be an absolute http(s) URL (got 'ftp://example.com/hook')",
                "locations": [{"line": 1, "column": 27}],
                "path": ["registerWebhook"],
            }
        ],
    }


def test_delete_unknown_webhook(volt: Volt) -> None:
    error = volt.error('mutation { deleteWebhook(id: "999") { id } }')
    assert error["message"] == "webhook 999 not found"


def test_sending_to_a_blocked_contact_is_refused(volt: Volt) -> None:
    volt.data(
        'mutation { createOrUpdateContact(name: "Wile E. Coyote", phoneNumber: "+15555556893", '
        'accountPhone: "+15555554321", customFields: [], blocked: true) { id } }'
    )
    assert volt.error(SEND, {"to": WILE, "from": PRIMARY, "body": "hi"})["message"] == (
        "to: contact +15555556893 is blocked"
    )
