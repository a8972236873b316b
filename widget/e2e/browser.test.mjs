// End to end: the SDK in headless Chromium (Debian's, driven by playwright-core)
// against the dev server, from a page on another origin than the API, so the
// browser's CORS preflights are real. Run by infra/widget-test.sh, which starts
// the dev server on a fresh table and sets HAL_BASE, HAL_TOKEN, HAL_PROJECT,
// HAL_DDB_PID (DynamoDB Local, paused for the 503 test), HAL_PLAYWRIGHT (where
// playwright-core is installed) and HAL_ARTEFACTS (the screenshot's folder).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run infra/widget-test.sh`);
  return value;
};
const API = env("HAL_BASE");
const TOKEN = env("HAL_TOKEN");
const DEMO_PROJECT = env("HAL_PROJECT");
const { chromium } = createRequire(join(env("HAL_PLAYWRIGHT"), "package.json"))("playwright-core");

let browser;
let site;
let siteOrigin;

/** The README's snippet, set to this API and the demo project: what a site pastes. */
function readmeSnippet() {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const snippet = readme.match(/```html\n([\s\S]*?)```/)?.[1];
  assert.ok(snippet?.includes("HalWidget.init"), "README.md has the site snippet");
  return snippet.replaceAll("https://YOUR-API", API).replaceAll("pr_…", DEMO_PROJECT);
}

/**
 * The customer's site: another origin (`localhost`; the API is on 127.0.0.1).
 * `/` loads the SDK; `/snippet` is a page with the README's snippet pasted in.
 */
function startSite() {
  const snippet = readmeSnippet();
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    const body = req.url === "/snippet" ? snippet : `<script src="${API}/widget.js"></script>`;
    res.end(`<!doctype html><html><head><title>shop</title></head><body>shop ${body}</body></html>`);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  site = await startSite();
  siteOrigin = `http://localhost:${site.address().port}`;
  assert.notEqual(new URL(siteOrigin).origin, new URL(API).origin);
  browser = await chromium.launch({
    executablePath: process.env.HAL_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  site?.close();
});

/** A page of the site, with the SDK loaded from the API's origin. */
async function sitePage() {
  const page = await browser.newPage();
  await page.goto(`${siteOrigin}/`);
  await page.waitForFunction(() => typeof window.HalWidget === "object");
  return page;
}

/** An account route, as the HAL user (dev token). */
async function account(method, path, { project = DEMO_PROJECT, body } = {}) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (project) headers["X-Project-Id"] = project;
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(`${API}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function newProject(name, settings) {
  const created = await account("POST", "/api/projects", { project: null, body: { name } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  if (settings) {
    const patched = await account("PATCH", `/api/projects/${created.body.id}`, { project: null, body: settings });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  }
  return created.body;
}

/** Runs `calls` in the page; a rejection comes back as `{ error: { code, status, ... } }`. */
function inPage(page, calls, arg) {
  return page.evaluate(
    async ({ source, arg }) => {
      const run = new Function("HalWidget", "arg", `return (${source})(HalWidget, arg);`);
      try {
        return { value: await run(window.HalWidget, arg) };
      } catch (e) {
        return { error: { name: e.name, code: e.code, status: e.status, message: e.message, isError: e instanceof Error } };
      }
    },
    { source: calls.toString(), arg },
  );
}

/** Polls an account route until `settled` holds for its answer (the snippet does not report back). */
async function eventually(path, settled) {
  for (let tries = 0; ; tries++) {
    const answer = await account("GET", path);
    if (settled(answer)) return answer;
    assert.ok(tries < 100, `${path} never settled: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("the README's snippet, pasted in a site on another origin, puts the seed's example in the CRM", async () => {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (error) => failures.push(error.message));
  await page.goto(`${siteOrigin}/snippet`);
  // identify, then setDeal, neither awaited: the deal lands only if identify went first.
  const company = await eventually("/api/companies/acme", (a) => a.body?.deal_value === 12000);
  assert.equal(company.body.name, "Acme Inc");
  assert.equal(company.body.stage, "Qualified");
  assert.deepEqual(company.body.metadata, { crm_owner: "Sam" });
  const contacts = await account("GET", "/api/contacts?email=alice%40acme.com");
  assert.equal(contacts.body.data.length, 1);
  const [contact] = contacts.body.data;
  assert.deepEqual(contact.metadata, { plan: "enterprise", role: "admin" });
  const linked = await account("GET", `/api/contacts/${contact.id}/companies`);
  assert.deepEqual(linked.body.data.map((c) => c.id), ["acme"]);
  const visitor = await account("GET", "/api/visitors/user_456");
  assert.equal(visitor.body.contact_id, contact.id);
  assert.deepEqual(failures, []);
  await page.close();
});

test("identity verification: the right userHash is accepted, a wrong one refused", async () => {
  const project = await newProject("Verified shop", { require_identity_verification: true });
  const hash = createHmac("sha256", project.identity_secret).update("user_789").digest("hex");
  const page = await sitePage();
  const identify = async (HalWidget, { api, project, userHash }) => {
    const widget = HalWidget.create();
    widget.init({ apiBase: api, projectId: project, visitorId: "user_789", userHash });
    const identity = await widget.identify({ email: "vera@verified.example" });
    return identity.contact.email;
  };
  const right = await inPage(page, identify, { api: API, project: project.id, userHash: hash });
  assert.deepEqual(right, { value: "vera@verified.example" });
  const wrong = await inPage(page, identify, { api: API, project: project.id, userHash: "0".repeat(64) });
  assert.equal(wrong.error?.code, "identity_verification_failed");
  assert.equal(wrong.error.status, 401);
  assert.equal(wrong.error.isError, true);
  const missing = await inPage(page, identify, { api: API, project: project.id, userHash: undefined });
  assert.equal(missing.error?.code, "identity_verification_failed");
  await page.close();
});

test("a project whose allowed origins exclude the page refuses it and writes nothing", async () => {
  const project = await newProject("Elsewhere shop", { allowed_origins: ["https://shop.example"] });
  const page = await sitePage();
  const result = await inPage(
    page,
    async (HalWidget, { api, project }) => {
      const widget = HalWidget.create();
      widget.init({ apiBase: api, projectId: project, visitorId: "user_elsewhere" });
      await widget.identify({ email: "eve@elsewhere.example", company: { id: "elsewhere" } });
    },
    { api: API, project: project.id },
  );
  assert.equal(result.error?.code, "origin_not_allowed");
  assert.equal(result.error.status, 403);
  const visitor = await account("GET", "/api/visitors/user_elsewhere", { project: project.id });
  assert.equal(visitor.status, 404);
  const contacts = await account("GET", "/api/contacts?email=eve%40elsewhere.example", { project: project.id });
  assert.deepEqual(contacts.body.data, []);
  const company = await account("GET", "/api/companies/elsewhere", { project: project.id });
  assert.equal(company.status, 404);
  await page.close();
});

test("a 503 (the store paused) is retried after Retry-After and the event is stored once", async () => {
  const ddb = Number(env("HAL_DDB_PID"));
  const page = await sitePage();
  const identified = await inPage(
    page,
    async (HalWidget, { api, project }) => {
      window.retrying = HalWidget.create();
      window.retrying.init({ apiBase: api, projectId: project, visitorId: "user_retry" });
      return (await window.retrying.identify({ email: "rita@retry.example" })).contact.id;
    },
    { api: API, project: DEMO_PROJECT },
  );
  assert.ok(identified.value, JSON.stringify(identified.error));
  const statuses = [];
  let resumed = false;
  page.on("response", (response) => {
    if (!response.url().endsWith("/api/widget/track")) return;
    statuses.push(response.status());
    if (response.status() === 503 && !resumed) {
      resumed = true;
      process.kill(ddb, "SIGCONT");
    }
  });
  // Frozen, DynamoDB Local takes connections and never answers: the dev
  // server gives up within its time budget and answers 503, Retry-After: 1.
  process.kill(ddb, "SIGSTOP");
  const state = () => readFileSync(`/proc/${ddb}/stat`, "utf8").split(") ")[1]?.[0];
  for (let i = 0; state() !== "T" && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(state(), "T", "DynamoDB Local is stopped");
  const started = Date.now();
  let tracked;
  try {
    tracked = await inPage(page, async () => (await window.retrying.track("demo_booked", { value: 1 })).event.event_key);
  } finally {
    if (!resumed) process.kill(ddb, "SIGCONT");
  }
  assert.ok(tracked.value, JSON.stringify(tracked.error));
  assert.equal(statuses[0], 503, `statuses: ${statuses} after ${Date.now() - started} ms`);
  assert.equal(statuses.at(-1), 200, `statuses: ${statuses}`);
  // Once, under the key the SDK generated for the call (the first attempt's
  // write may land after its 503: the retry then finds it).
  const events = await account("GET", `/api/contacts/${identified.value}/events`);
  const booked = events.body.data.filter((e) => e.name === "demo_booked");
  assert.equal(booked.length, 1, JSON.stringify(events.body.data));
  assert.equal(booked[0].event_key, tracked.value);
  await page.close();
});

test("the demo page runs the sync pattern and shows the contact and company (screenshot)", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(`${API}/demo/`);
  await page.fill("#visitor", "demo_visitor");
  await page.fill("#email", "dana@globex.example");
  await page.fill("#company", "globex");
  await page.fill("#company-name", "Globex");
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("status").textContent === "Synced.");
  assert.match(await page.textContent("#contact"), /dana@globex\.example/);
  assert.match(await page.textContent("#company-view"), /Globex.*Qualified.*12000/s);
  const folder = env("HAL_ARTEFACTS");
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: join(folder, "demo.png"), fullPage: true });
  await page.close();
});
