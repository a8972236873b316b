// Type declarations of the HAL widget SDK (widget.js, widget.mjs). The
// answers are the routes' JSON as docs/openapi.json describes it; the most
// used fields are typed here, the rest are reachable as plain JSON.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** Attribute values: scalars only. `null` removes a key in a merge. */
export type Attributes = { [key: string]: string | number | boolean | null };
export type StageUpdateMode = "advance_only" | "exact";

export interface InitOptions {
  /** The API's base URL, e.g. `https://api.example.com`. */
  apiBase: string;
  /** The project (`pr_…`); `appId` is its alias. */
  projectId?: string;
  appId?: string;
  /** hex(HMAC-SHA256(identity secret, visitor id)), computed by your backend, when the project requires identity verification. */
  userHash?: string;
  /** Your id for the visitor; without one, one is generated and kept in `localStorage` per project. */
  visitorId?: string;
}

export interface IdentifyInput {
  /** Switches the client to this visitor from now on. */
  visitor_id?: string;
  user_id?: string;
  email?: string;
  name?: string | null;
  phone?: string | null;
  metadata?: Attributes;
  properties?: Attributes;
  company?: {
    id: string;
    name?: string;
    domain?: string | null;
    industry?: string | null;
    stage?: string;
    deal_value?: number | null;
    metadata?: Attributes;
  };
  company_ids?: string[];
  stage_update_mode?: StageUpdateMode;
}

export interface TrackFields {
  value?: string | number | boolean | null;
  /** RFC 3339; the time of the call when absent. */
  occurred_at?: string;
  /** Makes the event stored once; generated per call when absent. */
  event_key?: string;
  company_id?: string;
}

export interface StageInput {
  stage?: string;
  stage_name?: string;
  company_id?: string;
  stage_update_mode?: StageUpdateMode;
}

export interface DealInput extends StageInput {
  deal_value: number | null;
}

export interface Visitor {
  project_id: string;
  visitor_id: string;
  properties: Attributes;
  contact_id: string | null;
  active_company_id: string | null;
  first_seen_at: string;
  last_seen_at: string;
  updated_at: string;
}

export interface Contact {
  id: string;
  email: string | null;
  user_id: string | null;
  name: string | null;
  metadata: Attributes;
  [field: string]: Json;
}

export interface Company {
  id: string;
  name: string | null;
  stage: string | null;
  deal_value: number | null;
  is_placeholder: boolean;
  metadata: Attributes;
  [field: string]: Json;
}

export interface StageOutcome {
  stage_applied: boolean;
  previous_stage: string | null;
  reason?: string;
}

export interface IdentifyResponse {
  visitor: Visitor;
  contact: Contact | null;
  companies: Company[];
  active_company_id: string | null;
  created: { contact: boolean; companies: string[]; placeholder: boolean };
  relinked: boolean;
  warnings: { code: string; message: string }[];
  company_stage?: StageOutcome;
}

export interface PipelineResponse {
  company: Company;
  stage: StageOutcome;
}

export interface Conversation {
  id: string;
  status: "open" | "closed";
  last_message_at: string;
  [field: string]: Json;
}

export interface Message {
  id: string;
  conversation_id: string;
  author: "visitor" | "agent";
  body: string;
  created_at: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** A refusal: the API's `code`, the HTTP `status` (0: no answer), `details`, `requestId`. */
export declare class HalWidgetError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Json;
  readonly requestId?: string;
}

export interface HalWidgetClient {
  readonly version: string;
  /** The current visitor id (`null` before `init`). */
  readonly visitorId: string | null;
  init(options: InitOptions): { visitorId: string; version: string };
  identify(input: IdentifyInput): Promise<IdentifyResponse>;
  setProperties(input: { properties?: Attributes; metadata?: Attributes }): Promise<{ visitor: Visitor; contact: Contact | null }>;
  track(name: string, fields?: TrackFields): Promise<{ event: Json; duplicate: boolean }>;
  track(event: TrackFields & { name: string }): Promise<{ event: Json; duplicate: boolean }>;
  setStage(input: StageInput): Promise<PipelineResponse>;
  setDeal(input: DealInput): Promise<PipelineResponse>;
  sendMessage(body: string | { body: string; conversation_id?: string }): Promise<{ conversation: Conversation; message: Message }>;
  conversations(page?: { limit?: number; cursor?: string }): Promise<Page<Conversation>>;
  /** Another client (tests: `fetch`, `storage`, `sleep` and `random` replaced). */
  create(options?: {
    fetch?: typeof fetch;
    storage?: Pick<Storage, "getItem" | "setItem"> | null;
    sleep?: (ms: number) => Promise<void>;
    random?: () => number;
  }): HalWidgetClient;
  HalWidgetError: typeof HalWidgetError;
}

declare const HalWidget: HalWidgetClient;
export default HalWidget;
export declare const init: HalWidgetClient["init"];
export declare const identify: HalWidgetClient["identify"];
export declare const setProperties: HalWidgetClient["setProperties"];
export declare const track: HalWidgetClient["track"];
export declare const setStage: HalWidgetClient["setStage"];
export declare const setDeal: HalWidgetClient["setDeal"];
export declare const sendMessage: HalWidgetClient["sendMessage"];
export declare const conversations: HalWidgetClient["conversations"];
export declare const create: HalWidgetClient["create"];

declare global {
  interface Window {
    HalWidget: HalWidgetClient;
  }
}
