"""End-to-end test with the official MCP Python SDK against a running Customermates server.

Usage: python client_test.py <mcp-url> <api-key> <header-style: x-api-key|bearer>
Exits non-zero on the first failed assertion; prints a closing "N passed, 0 failed" line.
"""

import asyncio
import json
import pathlib
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

SCHEMAS = pathlib.Path(__file__).resolve().parents[2] / "src" / "mcp" / "tool_schemas.json"
EXPECTED = [tool["name"] for tool in json.loads(SCHEMAS.read_text())]
checks = 0


def check(condition, message):
    global checks
    if not condition:
        raise AssertionError(message)
    checks += 1


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    check(not result.isError, f"{name} failed: {result.content[0].text if result.content else result}")
    return result.structuredContent, result.content[0].text


async def main(url, key, style):
    headers = {"x-api-key": key} if style == "x-api-key" else {"Authorization": f"Bearer {key}"}
    async with streamablehttp_client(url, headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.serverInfo.name == "customermates", f"server name {init.serverInfo.name}")
            tools = await session.list_tools()
            names = [t.name for t in tools.tools]
            check(names == EXPECTED, f"tool names differ: {set(names) ^ set(EXPECTED)}")
            check(len(names) == 49, f"{len(names)} tools")

            orgs, _ = await call(session, "create_organizations", {"organizations": [{"name": f"Client Org {style}"}]})
            org = orgs["items"][0]["id"]
            services, _ = await call(session, "create_services", {"services": [{"name": "Audit", "amount": 120}]})
            service = services["items"][0]["id"]
            contacts, _ = await call(session, "create_contacts", {"contacts": [{"firstName": "Grace", "lastName": "Hopper", "organizationIds": [org]}]})
            contact = contacts["items"][0]["id"]
            deals, _ = await call(session, "create_deals", {"deals": [{"name": "Compiler", "services": [{"serviceId": service, "quantity": 3}]}]})
            deal = deals["items"][0]["id"]

            found, _ = await call(session, "filter_entity", {"entity": "contact", "filters": [{"field": "organizationIds", "operator": "in", "value": [org]}]})
            check(found["total"] == 1 and found["items"][0]["id"] == contact, f"filter: {found}")
            got, _ = await call(session, "get_entities", {"items": [{"entity": "deal", "id": deal}]})
            check(got["items"][0]["deal"]["totalValue"] == 360, f"deal total: {got}")

            _, text = await call(session, "link_entities", {"entity": "contact", "sourceId": contact, "relation": "deals", "ids": [deal]})
            check("now 1" in text, text)
            _, text = await call(session, "update_entity_notes", {"entity": "contact", "items": [{"id": contact, "notes": "Met at **the conference**"}]})
            check(text == "Updated notes for 1 contact(s)", text)
            got, _ = await call(session, "get_entities", {"items": [{"entity": "contact", "id": contact, "include": "withNotes"}]})
            check(got["items"][0]["notes"] == "Met at **the conference**", f"notes: {got}")
            check(got["items"][0]["contact"]["deals"][0]["id"] == deal, f"link: {got}")

            for entity, record in (("contact", contact), ("deal", deal), ("service", service)):
                _, text = await call(session, "delete_entities", {"entity": entity, "ids": [record]})
                check(text == f"Deleted 1 {entity}(s)", text)
            gone, _ = await call(session, "get_entities", {"items": [{"entity": "contact", "id": contact}]})
            check(gone["items"][0] == {"error": "Contact not found"}, f"after delete: {gone}")

            refused = await session.call_tool("update_contacts", {"contacts": [{"id": contact, "organizationIds": None}]})
            check(refused.isError, "null relationship array must be refused")


if __name__ == "__main__":
    url, key, style = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        asyncio.run(main(url, key, style))
    except Exception as error:  # report, then fail
        print(f"{checks} passed, 1 failed: {error!r}")
        sys.exit(1)
    print(f"{checks} passed, 0 failed")
