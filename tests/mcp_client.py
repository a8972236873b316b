"""The MCP endpoint through the official Python MCP client (PyPI `mcp`,
pinned in infra/mcp-tools.txt), against the dev server at $HAL_BASE: once in
the 2025-11-25 handshake mode and once in the 2026-07-28 mode (discovered
with `server/discover`), listing and calling every tool; a key without a
tool's scope refused; another project's key sees nothing of this one; no key
is a 401. Run by infra/mcp-test.sh (the contract pass)."""

import asyncio
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

BASE = os.environ["HAL_BASE"]
TOKEN = os.environ["HAL_TOKEN"]
ENDPOINT = f"{BASE}/mcp"

EVERY_SCOPE = [
    "contacts:read", "contacts:write", "conversations:read",
    "conversations:write", "companies:read", "companies:write",
]
READ_TOOLS = {
    "search_contacts", "get_contact", "search_companies", "get_company",
    "list_pipeline_stages", "pipeline_summary", "list_conversations",
    "get_conversation",
}
WRITE_TOOLS = {
    "set_company_stage", "set_deal_value", "add_company_note",
    "reply_to_conversation",
}


def check(condition, what):
    if not condition:
        raise AssertionError(what)


async def rest(http, method, path, body=None, project=None):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if project:
        headers["X-Project-Id"] = project
    response = await http.request(method, f"{BASE}{path}", json=body, headers=headers)
    check(response.is_success, f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


async def project_with_alice(http, name):
    """A project of its own (the contract pass's fuzzing leaves the demo
    project in any state), a key with every scope, a narrow key, and Alice
    of Acme in a conversation."""
    project = (await rest(http, "POST", "/api/projects", {"name": name}))["id"]
    keys = {}
    for key_name, scopes in [("every", EVERY_SCOPE), ("contacts", ["contacts:read"])]:
        created = await rest(http, "POST", "/api/api-keys",
                             {"name": key_name, "scopes": scopes}, project)
        keys[key_name] = created["key"]
    visitor = {"project_id": project, "visitor_id": "v-alice"}
    identified = (await http.post(f"{BASE}/api/widget/identify", json={
        **visitor, "email": "alice@acme.com", "name": "Alice Berg",
        "company": {"id": "acme", "name": "Acme", "stage": "Qualified", "deal_value": 1000},
    })).json()
    said = (await http.post(f"{BASE}/api/widget/messages",
                            json={**visitor, "body": "Pricing?"})).json()
    return project, keys, identified["contact"]["id"], said["conversation"]["id"]


class Session:
    """One client connection: the key as bearer token on every request."""

    def __init__(self, key, mode):
        self.http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
        self.client = Client(streamable_http_client(ENDPOINT, http_client=self.http), mode=mode)

    async def __aenter__(self):
        await self.http.__aenter__()
        return await self.client.__aenter__()

    async def __aexit__(self, *exc):
        await self.client.__aexit__(*exc)
        await self.http.__aexit__(*exc)


async def call(client, tool, arguments):
    result = await client.call_tool(tool, arguments)
    check(not result.is_error, f"{tool}: {result.content}")
    return result.structured_content


async def refused(client, tool, arguments):
    """The SPEC §7 body of a tool error."""
    result = await client.call_tool(tool, arguments)
    check(result.is_error, f"{tool} was not refused: {result.structured_content}")
    return json.loads(result.content[0].text)["error"]


async def eventually(what, probe):
    """Lists read an index, which trails writes."""
    for _ in range(200):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen: {what}")


async def every_tool(client, alice, conversation, round_no):
    listed = await client.list_tools()
    names = {tool.name for tool in listed.tools}
    check(names == READ_TOOLS | WRITE_TOOLS, f"tools: {sorted(names)}")
    for tool in listed.tools:
        check(tool.output_schema and tool.output_schema.get("type") == "object", tool.name)
        check(tool.annotations.read_only_hint == (tool.name in READ_TOOLS), tool.name)

    async def alice_found():
        found = await call(client, "search_contacts", {"query": "ALI"})
        return found if [c["id"] for c in found["contacts"]] == [alice] else None
    await eventually("alice by name", alice_found)
    contact = await call(client, "get_contact", {"contact_id": alice})
    check(contact["contact"]["email"] == "alice@acme.com", contact)
    check([c["id"] for c in contact["companies"]] == ["acme"], contact)

    async def acme_on_board():
        found = await call(client, "search_companies", {"stage": "Qualified"})
        return found if [c["id"] for c in found["companies"]] == ["acme"] else None
    if round_no == 0:
        await eventually("acme on its stage", acme_on_board)
    company = await call(client, "get_company", {"company_id": "acme"})
    check([c["id"] for c in company["contacts"]] == [alice], company)
    stages = await call(client, "list_pipeline_stages", {})
    check([s["name"] for s in stages["stages"]][:2] == ["New", "Qualified"], stages)
    summary = await call(client, "pipeline_summary", {"recent": 5})
    check(summary["all"]["companies"] == 1, summary)
    conversations = await eventually(
        "the conversation",
        lambda: call(client, "list_conversations", {"status": "open"}))
    check(conversation in [c["id"] for c in conversations["conversations"]], conversations)
    moved = await call(client, "set_company_stage", {"company_id": "acme", "stage": "Proposal"})
    check(moved["stage"] == "Proposal", moved)
    valued = await call(client, "set_deal_value", {"company_id": "acme", "deal_value": 2000 + round_no})
    check(valued["deal_value"] == 2000 + round_no, valued)
    noted = await call(client, "add_company_note", {"company_id": "acme", "note": f"round {round_no}"})
    check(noted["notes"].endswith(f"] round {round_no}"), noted)
    reply = await call(client, "reply_to_conversation",
                       {"conversation_id": conversation, "body": f"Hello {round_no}"})
    check(reply["author"] == "agent", reply)
    read = await call(client, "get_conversation", {"conversation_id": conversation})
    check(read["messages"][-1]["body"] == f"Hello {round_no}", read)
    summary = await call(client, "pipeline_summary", {})
    proposal = next(s for s in summary["stages"] if s["name"] == "Proposal")
    check(proposal["total_deal_value"] == 2000 + round_no, summary)
    bad = await refused(client, "set_deal_value", {"company_id": "acme", "deal_value": -5})
    check((bad["code"], bad["details"]["field"]) == ("validation_failed", "deal_value"), bad)


async def main():
    async with httpx2.AsyncClient(timeout=30) as http:
        project, keys, alice, conversation = await project_with_alice(http, "MCP client")
        _, other_keys, other_alice, _ = await project_with_alice(http, "MCP other tenant")

        # No key: the endpoint answers 401 with a bearer challenge.
        response = await http.post(ENDPOINT, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                   headers={"Accept": "application/json, text/event-stream"})
        check(response.status_code == 401, response.text)
        check(response.headers.get("www-authenticate") == "Bearer", response.headers)

    modes = [("legacy", "2025-11-25"), ("auto", "2026-07-28")]
    for round_no, (mode, version) in enumerate(modes):
        async with Session(keys["every"], mode) as client:
            check(client.protocol_version == version, f"{mode}: {client.protocol_version}")
            check(client.server_info.name == "hal-crm", client.server_info)
            await every_tool(client, alice, conversation, round_no)
        async with Session(keys["contacts"], mode) as client:
            error = await refused(client, "search_companies", {})
            check((error["code"], error["details"]["required"])
                  == ("insufficient_scope", "companies:read"), error)
            contact = await call(client, "get_contact", {"contact_id": alice})
            check("companies" not in contact, contact)
        async with Session(other_keys["every"], mode) as client:
            error = await refused(client, "get_contact", {"contact_id": alice})
            check(error["code"] == "contact_not_found", error)
            error = await refused(client, "get_company", {"company_id": "nope"})
            check(error["code"] == "company_not_found", error)
            theirs = await call(client, "get_contact", {"contact_id": other_alice})
            check(theirs["contact"]["id"] != alice, theirs)
        print(f"mcp client, {mode} mode ({version}): every tool listed and called", file=sys.stderr)


asyncio.run(main())
