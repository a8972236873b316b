/*
 * HAL widget SDK: window.HalWidget, the browser side of /api/widget/*.
 *
 * A classic script (<script src=".../widget.js">) that defines
 * `window.HalWidget`; `widget.mjs` is the same as an ES module. No
 * dependencies and no build step: this file is what browsers run.
 *
 *   HalWidget.init({ apiBase, projectId, userHash?, visitorId? });
 *   await HalWidget.identify({ visitor_id, email, metadata, company: { id, name, stage } });
 *   await HalWidget.setDeal({ company_id, deal_value, stage_name });
 *
 * Every call returns a Promise of the route's JSON answer. A refusal rejects
 * with a HalWidgetError carrying the API's `code`, the HTTP `status`,
 * `details` and `requestId`. 429 and 503 are retried with backoff (honouring
 * `Retry-After`); nothing else is. Calls are sent one at a time, in the
 * order they were made, so `identify` then `setDeal` never race even when
 * the page does not await the first.
 */
(function (global) {
  "use strict";

  var VERSION = "1.0.0";
  /** Attempts for a 429 or 503 answer, the first included. */
  var MAX_ATTEMPTS = 5;
  /** Backoff: base * 2^retry, jittered, capped; `Retry-After` wins when longer. */
  var BACKOFF_BASE_MS = 300;
  var BACKOFF_CAP_MS = 8000;
  var STORAGE_PREFIX = "hal_widget_visitor:";

  /** A refusal (or failure) of a widget call. */
  class HalWidgetError extends Error {
    constructor(message, code, status, details, requestId) {
      super(message);
      this.name = "HalWidgetError";
      /** The API's machine-readable code (`network_error`, `http_<status>` without one). */
      this.code = code;
      /** The HTTP status; 0 when no answer came. */
      this.status = status;
      this.details = details;
      this.requestId = requestId;
    }
  }

  function randomId(prefix) {
    var cryptoApi = global.crypto;
    if (cryptoApi && typeof cryptoApi.randomUUID === "function") {
      return prefix + cryptoApi.randomUUID().replace(/-/g, "");
    }
    var bytes = new Uint8Array(16);
    if (cryptoApi && typeof cryptoApi.getRandomValues === "function") {
      cryptoApi.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return prefix + Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  /** `localStorage`, or nothing where it is missing or refused (private modes). */
  function defaultStorage() {
    try {
      var storage = global.localStorage;
      var probe = STORAGE_PREFIX + "probe";
      storage.setItem(probe, "1");
      storage.removeItem(probe);
      return storage;
    } catch (_) {
      return null;
    }
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date). */
  function retryAfterMs(value, now) {
    if (!value) return 0;
    var seconds = Number(value);
    if (isFinite(seconds)) return Math.max(0, seconds * 1000);
    var date = Date.parse(value);
    return isFinite(date) ? Math.max(0, date - now) : 0;
  }

  function copy(fields) {
    var out = {};
    if (fields) {
      for (var key in fields) {
        if (Object.prototype.hasOwnProperty.call(fields, key) && fields[key] !== undefined) {
          out[key] = fields[key];
        }
      }
    }
    return out;
  }

  /**
   * A widget client. `options.fetch`, `options.storage`, `options.sleep` and
   * `options.random` replace the browser's (for tests).
   */
  function create(options) {
    var env = options || {};
    var fetchApi = env.fetch || (global.fetch && global.fetch.bind(global));
    var wait = env.sleep || sleep;
    var random = env.random || Math.random;
    var storage = env.storage !== undefined ? env.storage : defaultStorage();
    var config = null;
    var visitorId = null;
    // The tail of the call queue: each call starts when the one before settles.
    var tail = Promise.resolve();

    function storageKey() {
      return STORAGE_PREFIX + config.projectId;
    }

    function remember(id) {
      visitorId = id;
      if (storage) {
        try { storage.setItem(storageKey(), id); } catch (_) { /* full or refused */ }
      }
    }

    function init(settings) {
      var s = settings || {};
      var projectId = s.projectId || s.appId;
      if (!s.apiBase) throw new TypeError("HalWidget.init: apiBase is required");
      if (!projectId) throw new TypeError("HalWidget.init: projectId (or appId) is required");
      if (!fetchApi) throw new TypeError("HalWidget.init: no fetch in this environment");
      config = {
        apiBase: String(s.apiBase).replace(/\/+$/, ""),
        projectId: String(projectId),
        userHash: s.userHash || null,
      };
      var stored = null;
      if (!s.visitorId && storage) {
        try { stored = storage.getItem(storageKey()); } catch (_) { stored = null; }
      }
      remember(s.visitorId || stored || randomId("v_"));
      return { visitorId: visitorId, version: VERSION };
    }

    function requireInit() {
      if (!config) throw new HalWidgetError("HalWidget.init() was not called", "not_initialized", 0);
    }

    /** The caller fields every widget call carries. */
    function caller() {
      var fields = { project_id: config.projectId, visitor_id: visitorId };
      if (config.userHash) fields.user_hash = config.userHash;
      return fields;
    }

    function errorFrom(status, body, requestId) {
      var error = body && body.error;
      if (error && error.code) {
        return new HalWidgetError(error.message || error.code, error.code, status, error.details, error.request_id || requestId);
      }
      var message = (body && body.message) || "HTTP " + status;
      return new HalWidgetError(message, "http_" + status, status, undefined, requestId);
    }

    /** One request, retried on 429 and 503. */
    async function send(method, path, body) {
      var url = config.apiBase + path;
      var request = { method: method, headers: { Accept: "application/json" }, credentials: "omit" };
      if (body !== undefined) {
        request.headers["Content-Type"] = "application/json";
        request.body = JSON.stringify(body);
      }
      for (var attempt = 1; ; attempt++) {
        var response;
        try {
          response = await fetchApi(url, request);
        } catch (cause) {
          var failed = new HalWidgetError("network error: " + (cause && cause.message), "network_error", 0);
          failed.cause = cause;
          throw failed;
        }
        var text = await response.text();
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (_) { parsed = null; }
        if (response.ok) return parsed;
        var requestId = response.headers.get("apigw-requestid") || undefined;
        var retriable = response.status === 429 || response.status === 503;
        if (!retriable || attempt >= MAX_ATTEMPTS) throw errorFrom(response.status, parsed, requestId);
        var backoff = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempt - 1));
        var jittered = backoff / 2 + random() * (backoff / 2);
        await wait(Math.max(jittered, retryAfterMs(response.headers.get("Retry-After"), Date.now())));
      }
    }

    /** Queues `work` after every call made before it; the queue goes on after a failure. */
    function enqueue(work) {
      var run = tail.then(function () {
        requireInit();
        return work();
      });
      tail = run.then(function () {}, function () {});
      return run;
    }

    function post(path, fields) {
      return enqueue(function () {
        return send("POST", path, Object.assign(caller(), copy(fields)));
      });
    }

    /** Identifies the visitor; a `visitor_id` given here is the visitor from now on. */
    function identify(input) {
      return enqueue(function () {
        var fields = copy(input);
        if (fields.visitor_id) {
          remember(String(fields.visitor_id));
          delete fields.visitor_id;
        }
        return send("POST", "/api/widget/identify", Object.assign(caller(), fields));
      });
    }

    function setProperties(input) {
      return post("/api/widget/set-properties", input);
    }

    /**
     * `track(name, fields?)` or `track({ name, ... })`. Every call gets its own
     * `event_key` unless it brings one, so a retried call is stored once.
     */
    function track(nameOrFields, fields) {
      var event = typeof nameOrFields === "string"
        ? Object.assign(copy(fields), { name: nameOrFields })
        : copy(nameOrFields);
      if (!event.event_key) event.event_key = randomId("wk_");
      return post("/api/widget/track", event);
    }

    function setStage(input) {
      return post("/api/widget/set-stage", input);
    }

    function setDeal(input) {
      return post("/api/widget/set-deal", input);
    }

    /** `sendMessage(text)` or `sendMessage({ body, conversation_id? })`. */
    function sendMessage(input) {
      var fields = typeof input === "string" ? { body: input } : copy(input);
      return post("/api/widget/messages", fields);
    }

    /** The visitor's conversations: `{ data, next_cursor }`; `{ limit, cursor }` page. */
    function conversations(page) {
      return enqueue(function () {
        var query = Object.assign(caller(), copy(page));
        var parts = [];
        for (var key in query) {
          parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(String(query[key])));
        }
        return send("GET", "/api/widget/conversations?" + parts.join("&"));
      });
    }

    return {
      version: VERSION,
      init: init,
      identify: identify,
      setProperties: setProperties,
      track: track,
      setStage: setStage,
      setDeal: setDeal,
      sendMessage: sendMessage,
      conversations: conversations,
      /** The current visitor id (`null` before `init`). */
      get visitorId() { return visitorId; },
      create: create,
      HalWidgetError: HalWidgetError,
    };
  }

  // Loaded twice (the script and the module on one page): one client.
  if (!global.HalWidget || global.HalWidget.version !== VERSION) {
    global.HalWidget = create();
  }
})(typeof window !== "undefined" ? window : globalThis);
