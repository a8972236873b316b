// Unit tests of the widget SDK with node's test runner (`node --test`): the
// client over a recording fake `fetch`, no network, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import HalWidget, { create, HalWidgetError } from "../widget.mjs";

const API = "https://api.example.test";

/** A fake fetch answering from `script` (status, body, headers) in turn; records requests. */
function fakeFetch(script = []) {
  const calls = [];
  let next = 0;
  const fetch = async (url, request) => {
    const call = { url, method: request.method, headers: request.headers, body: request.body && JSON.parse(request.body) };
    calls.push(call);
    const [status, body, headers] = script[next++] ?? [200, { ok: true }, {}];
    return new Response(body === undefined ? "" : JSON.stringify(body), { status, headers: headers ?? {} });
  };
  return { fetch, calls };
}

function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)), items };
}

function client(script, extra = {}) {
  const fake = fakeFetch(script);
  const sleeps = [];
  const widget = create({
    fetch: fake.fetch,
    storage: memoryStorage(),
    sleep: async (ms) => { sleeps.push(ms); },
    random: () => 0.5,
    ...extra,
  });
  return { widget, calls: fake.calls, sleeps };
}

test("the module and the classic script define one client, window.HalWidget", () => {
  assert.equal(globalThis.HalWidget, HalWidget);
  assert.equal(typeof HalWidget.identify, "function");
});

test("identify sends the seed's sync pattern with the caller fields, then set-deal, in order", async () => {
  const { widget, calls } = client();
  widget.init({ apiBase: `${API}/`, projectId: "pr_1" });
  const identified = widget.identify({
    visitor_id: "user_456",
    email: "alice@acme.com",
    metadata: { plan: "enterprise", role: "admin" },
    company: { id: "acme", name: "Acme Inc", stage: "Qualified", metadata: { crm_owner: "Sam" } },
  });
  const dealt = widget.setDeal({ company_id: "acme", deal_value: 12000, stage_name: "Qualified" });
  await Promise.all([identified, dealt]);
  assert.deepEqual(calls.map((c) => `${c.method} ${c.url}`), [
    `POST ${API}/api/widget/identify`,
    `POST ${API}/api/widget/set-deal`,
  ]);
  assert.deepEqual(calls[0].body, {
    project_id: "pr_1",
    visitor_id: "user_456",
    email: "alice@acme.com",
    metadata: { plan: "enterprise", role: "admin" },
    company: { id: "acme", name: "Acme Inc", stage: "Qualified", metadata: { crm_owner: "Sam" } },
  });
  assert.deepEqual(calls[1].body, {
    project_id: "pr_1",
    visitor_id: "user_456",
    company_id: "acme",
    deal_value: 12000,
    stage_name: "Qualified",
  });
  assert.equal(calls[0].headers["Content-Type"], "application/json");
});

test("a call waits for the one before it to be answered, even when it fails", async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const order = [];
  const widget = create({
    storage: null,
    fetch: async (url) => {
      order.push(`start ${url.split("/").pop()}`);
      if (url.endsWith("identify")) await gate;
      order.push(`end ${url.split("/").pop()}`);
      return url.endsWith("identify")
        ? new Response(JSON.stringify({ error: { code: "validation_failed", message: "x" } }), { status: 400 })
        : new Response("{}", { status: 200 });
    },
  });
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  const first = widget.identify({ email: "not-an-email" });
  const second = widget.setDeal({ deal_value: 1 });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(order, ["start identify"], "set-deal must not start before identify is answered");
  release();
  await assert.rejects(first, { code: "validation_failed" });
  await second;
  assert.deepEqual(order, ["start identify", "end identify", "start set-deal", "end set-deal"]);
});

test("a refusal rejects with an Error carrying code, status, details and request id", async () => {
  const { widget } = client([
    [403, { error: { code: "origin_not_allowed", message: "no", details: { origin: "x" }, request_id: "r1" } }],
  ]);
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  const error = await widget.identify({ email: "a@b.co" }).catch((e) => e);
  assert.ok(error instanceof Error);
  assert.ok(error instanceof HalWidgetError);
  assert.equal(error.code, "origin_not_allowed");
  assert.equal(error.status, 403);
  assert.deepEqual(error.details, { origin: "x" });
  assert.equal(error.requestId, "r1");
});

test("an answer without the API's error body still rejects with a code", async () => {
  const { widget } = client([[404, { message: "Not Found" }, { "apigw-requestid": "gw1" }]]);
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  await assert.rejects(widget.track("x"), { code: "http_404", status: 404, requestId: "gw1" });
});

test("429 and 503 are retried with backoff, honouring Retry-After; the answer after is returned", async () => {
  const { widget, calls, sleeps } = client([
    [503, { error: { code: "store_unavailable", message: "later" } }, { "Retry-After": "2" }],
    [429, { error: { code: "throttled", message: "later" } }],
    [200, { done: true }],
  ]);
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  assert.deepEqual(await widget.setStage({ stage: "Won" }), { done: true });
  assert.equal(calls.length, 3);
  assert.deepEqual(calls[0].body, calls[2].body, "a retry sends the same request");
  assert.deepEqual(sleeps, [2000, 450], "Retry-After: 2 waits 2 s; then jittered backoff (300-600 ms at the second try)");
});

test("retries stop after five attempts with the last refusal", async () => {
  const busy = [503, { error: { code: "store_unavailable", message: "later" } }];
  const { widget, calls } = client([busy, busy, busy, busy, busy, [200, {}]]);
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  await assert.rejects(widget.setDeal({ deal_value: 1 }), { code: "store_unavailable", status: 503 });
  assert.equal(calls.length, 5);
});

test("other 4xx and 5xx are never retried", async () => {
  for (const status of [400, 401, 404, 409, 422, 500]) {
    const { widget, calls } = client([[status, { error: { code: "c", message: "m" } }], [200, {}]]);
    widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
    await assert.rejects(widget.identify({ email: "a@b.co" }), { status });
    assert.equal(calls.length, 1, `status ${status}`);
  }
});

test("track gets one event_key per call, kept across its retries", async () => {
  const { widget, calls } = client([[429, {}], [200, {}], [200, {}]]);
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  await widget.track("signup", { value: 1 });
  await widget.track({ name: "paid", event_key: "order-1" });
  assert.equal(calls[0].body.event_key, calls[1].body.event_key);
  assert.match(calls[0].body.event_key, /^wk_[0-9a-f]{32}$/);
  assert.equal(calls[0].body.name, "signup");
  assert.equal(calls[2].body.event_key, "order-1");
});

test("a visitor id is generated once per project and kept in storage", () => {
  const storage = memoryStorage();
  const first = create({ storage, fetch: fakeFetch().fetch });
  const { visitorId } = first.init({ apiBase: API, projectId: "pr_1" });
  assert.match(visitorId, /^v_[0-9a-f]{32}$/);
  const again = create({ storage, fetch: fakeFetch().fetch });
  assert.equal(again.init({ apiBase: API, projectId: "pr_1" }).visitorId, visitorId);
  const other = create({ storage, fetch: fakeFetch().fetch });
  assert.notEqual(other.init({ apiBase: API, projectId: "pr_2" }).visitorId, visitorId);
});

test("identify with a visitor_id switches the visitor for later calls", async () => {
  const { widget, calls } = client();
  widget.init({ apiBase: API, appId: "pr_1" });
  await widget.identify({ visitor_id: "user_9", email: "a@b.co" });
  await widget.sendMessage("hello");
  assert.equal(widget.visitorId, "user_9");
  assert.equal(calls[1].body.visitor_id, "user_9");
  assert.equal(calls[1].body.body, "hello");
});

test("userHash travels as user_hash; conversations go in the query of a GET", async () => {
  const { widget, calls } = client();
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v 1", userHash: "abc" });
  await widget.conversations({ limit: 5 });
  assert.equal(calls[0].method, "GET");
  assert.equal(calls[0].url, `${API}/api/widget/conversations?project_id=pr_1&visitor_id=v%201&user_hash=abc&limit=5`);
  await widget.setProperties({ properties: { plan: "pro" } });
  assert.equal(calls[1].body.user_hash, "abc");
});

test("calls before init reject, and init checks its settings", async () => {
  const widget = create({ fetch: fakeFetch().fetch, storage: null });
  await assert.rejects(widget.identify({}), { code: "not_initialized" });
  assert.throws(() => widget.init({ projectId: "pr_1" }), /apiBase/);
  assert.throws(() => widget.init({ apiBase: API }), /projectId/);
});

test("a network failure rejects with network_error and is not retried", async () => {
  let attempts = 0;
  const widget = create({ storage: null, fetch: async () => { attempts++; throw new TypeError("Failed to fetch"); } });
  widget.init({ apiBase: API, projectId: "pr_1", visitorId: "v" });
  await assert.rejects(widget.track("x"), { code: "network_error", status: 0 });
  assert.equal(attempts, 1);
});
