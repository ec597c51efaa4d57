"""Groove sales source streams: flows, their steps and label instances (Relay), and people.

The published schema is small: ``flows`` is a plain list, ``Flow.steps`` and ``Flow.labelInstances``
are Relay connections, and a person can only be reached by ``findPersonBySalesforceId`` (no field
lists people, not even per flow). So ``people`` looks up the Salesforce ids a connection names
(setting ``salesforce_ids``: a comma-separated list or ``@file`` with one id per line or a CSV
column ``salesforce_id``), batched with aliases, deduplicated by Groove id in the store.

Child streams walk the flows in id order and keep ``{"flow_id", "after"}`` as their cursor: the pull
engine commits it with every page, so a killed pull resumes inside the flow and page it stopped at.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....client.graphql import relay_pages
from ....client.http import ApiClient
from ....client.streams import Page, Stream, StreamSpec
from ..contract import MAX_PAGE_SIZE
from .client import gql

V, B, TS = "VARCHAR", "BIGINT", "TIMESTAMPTZ"
BOOL = "BOOLEAN"

FLOW_FIELDS = (
    "id",
    "name",
    "description",
    "userId",
    "finalized",
    "isMasterFlow",
    "autoImportAssignOwner",
    "autoImportId",
    "removePersonAfterBounce",
    "removePersonAfterReply",
    "sfdcCampaignId",
)
FLOW_COLUMNS = {
    "id": V,
    "name": V,
    "description": V,
    "userId": V,
    "finalized": BOOL,
    "isMasterFlow": BOOL,
    "autoImportAssignOwner": BOOL,
    "autoImportId": V,
    "removePersonAfterBounce": BOOL,
    "removePersonAfterReply": BOOL,
    "sfdcCampaignId": V,
}
STEP_COLUMNS = {"id": V, "flow_id": V, "name": V, "dayNumber": V}
LABEL_COLUMNS = {"id": V, "flow_id": V}
PERSON_COLUMNS = {"id": V, "name": V, "emailAddress": V, "salesforceId": V}

#: What each column means (``COMMENT ON COLUMN``, ``streams NAME --columns``). The published schema
#: describes almost no field; where it is silent the text says what the field holds, nothing more.
FLOW_DOCS = {
    "id": "Groove's id of the flow",
    "name": "Name of the flow",
    "description": "Description of the flow (free text)",
    "userId": "Groove user id set on the flow (undocumented)",
    "finalized": "The flow's finalized flag (undocumented)",
    "isMasterFlow": "The flow's isMasterFlow flag (undocumented)",
    "autoImportAssignOwner": "The flow's autoImportAssignOwner setting (undocumented)",
    "autoImportId": "The flow's autoImportId, if any (undocumented)",
    "removePersonAfterBounce": "The flow's removePersonAfterBounce setting (undocumented)",
    "removePersonAfterReply": "The flow's removePersonAfterReply setting (undocumented)",
    "sfdcCampaignId": "Salesforce campaign id set on the flow, if any (undocumented)",
}
STEP_DOCS = {
    "id": "Groove's id of the step",
    "flow_id": "Id of the flow the step is in (added by the connector)",
    "name": "Name of the step",
    "dayNumber": "The step's day number in the flow, as the schema gives it (a string)",
}
LABEL_DOCS = {
    "id": "Groove's id of the label instance (a label applied to the flow)",
    "flow_id": "Id of the flow the label is applied to (added by the connector)",
}
PERSON_DOCS = {
    "id": "Groove's id of the person",
    "name": "Name of the person",
    "emailAddress": "Email address of the person",
    "salesforceId": "The Salesforce Contact or Lead id the person was found by (the salesforce_ids setting)",
}

FLOWS_QUERY = "query Flows { flows { " + " ".join(FLOW_FIELDS) + " } }"
FLOW_IDS_QUERY = "query FlowIds { flows { id } }"
#: Salesforce ids looked up per request (aliases).
PEOPLE_PER_REQUEST = 50


def child_query(connection: str, node_fields: str) -> str:
    return (
        f"query Flow{connection[0].upper()}{connection[1:]}($id: ID!, $first: Int, $after: String) "
        f"{{ flow(id: $id) {{ id {connection}(first: $first, after: $after) "
        f"{{ nodes {{ {node_fields} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
    )


@dataclass
class FlowsStream:
    """Every flow: one request (``flows`` is a plain list), full refresh."""

    spec: StreamSpec

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        yield Page(list(gql(client).query(FLOWS_QUERY)["flows"] or []), None)


@dataclass
class FlowChildStream:
    """A Relay connection of every flow (``steps`` or ``labelInstances``), flow after flow."""

    spec: StreamSpec
    connection: str
    node_fields: str
    page_size: int = MAX_PAGE_SIZE

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        runner = gql(client)
        ids = sorted((str(f["id"]) for f in runner.query(FLOW_IDS_QUERY)["flows"] or []), key=_id_order)
        spent = 1
        start, after = 0, None
        if state and state.get("flow_id") is not None:
            resume = str(state["flow_id"])
            # the flow we stopped in, or (if it was deleted since) the next one in id order
            start = next((i for i, fid in enumerate(ids) if _id_order(fid) >= _id_order(resume)), len(ids))
            after = state.get("after") if start < len(ids) and ids[start] == resume else None
        if start >= len(ids):
            yield Page([], None, requests=spent)
            return
        query = child_query(self.connection, self.node_fields)
        for i in range(start, len(ids)):
            fid = ids[i]
            following = {"flow_id": ids[i + 1], "after": None} if i + 1 < len(ids) else None
            for page in relay_pages(
                runner,
                query,
                {"id": fid},
                ("flow", self.connection),
                first=self.page_size,
                after=after if i == start else None,
            ):
                records = [{**node, "flow_id": fid} for node in page.nodes]
                next_state = {"flow_id": fid, "after": page.end_cursor} if page.has_next else following
                yield Page(records, next_state, requests=1 + spent)
                spent = 0


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


@dataclass
class PeopleStream:
    """People by Salesforce id (the only way the schema reaches a person), batched with aliases."""

    spec: StreamSpec
    salesforce_ids: list[str] = field(default_factory=list)
    per_request: int = PEOPLE_PER_REQUEST

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        index = int((state or {}).get("index") or 0)
        ids = self.salesforce_ids
        if index >= len(ids):
            yield Page([], None, requests=0)
            return
        runner = gql(client)
        while index < len(ids):
            chunk = ids[index : index + self.per_request]
            data = runner.query(people_query(len(chunk)), {f"s{i}": sf for i, sf in enumerate(chunk)})
            records = [
                {**person, "salesforceId": sf}
                for i, sf in enumerate(chunk)
                if isinstance(person := data.get(f"p{i}"), dict)
            ]
            index += len(chunk)
            yield Page(records, {"index": index} if index < len(ids) else None)


def people_query(count: int) -> str:
    """One query finding ``count`` people by Salesforce id: ``p0: findPersonBySalesforceId(...)`` ..."""
    params = ", ".join(f"$s{i}: String!" for i in range(count))
    fields = " ".join(
        f"p{i}: findPersonBySalesforceId(salesforceId: $s{i}) {{ id name emailAddress }}" for i in range(count)
    )
    return f"query People({params}) {{ {fields} }}"


def parse_salesforce_ids(value: str | list[str] | None) -> list[str]:
    """``"a,b"``, ``["a", "b"]`` or ``"@path"`` (one id per line, or a CSV with a ``salesforce_id`` column);
    duplicates dropped, order kept."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif value.startswith("@"):
        path = Path(value[1:]).expanduser()
        with path.open(newline="") as f:
            first = f.readline()
            f.seek(0)
            if "," in first or "salesforce" in first.lower():
                reader = csv.DictReader(f)
                column = next(
                    (c for c in reader.fieldnames or [] if c.lower().replace("_", "") in ("salesforceid", "sfid")),
                    (reader.fieldnames or [""])[0],
                )
                items = [row.get(column) or "" for row in reader]
            else:
                items = f.read().splitlines()
    else:
        items = value.split(",")
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in out:
            out.append(item)
    return out


def streams(salesforce_ids: str | list[str] | None = None, page_size: int = MAX_PAGE_SIZE) -> dict[str, Stream]:
    """Every Groove sales stream by name (parents before children)."""
    out: list[Stream] = [
        FlowsStream(StreamSpec("flows", ("id",), FLOW_COLUMNS, "Flows (sequences), full refresh", docs=FLOW_DOCS)),
        FlowChildStream(
            StreamSpec(
                "steps", ("id",), STEP_COLUMNS, "Steps of every flow (Relay pages)", parent="flows", docs=STEP_DOCS
            ),
            "steps",
            "id name dayNumber",
            page_size,
        ),
        FlowChildStream(
            StreamSpec(
                "label_instances",
                ("id",),
                LABEL_COLUMNS,
                "Labels applied to every flow (Relay pages)",
                parent="flows",
                docs=LABEL_DOCS,
            ),
            "labelInstances",
            "id",
            page_size,
        ),
        PeopleStream(
            StreamSpec(
                "people",
                ("id",),
                PERSON_COLUMNS,
                "People found by the Salesforce ids of the connection's salesforce_ids setting",
                docs=PERSON_DOCS,
            ),
            parse_salesforce_ids(salesforce_ids),
        ),
    ]
    return {s.spec.name: s for s in out}
