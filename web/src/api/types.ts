// Names for the generated OpenAPI types (src/api/schema.d.ts, from web/openapi.json).
import type { components } from "./schema";

type S = components["schemas"];
export type Ranking = S["RankingOut"];
export type RankingsPage = S["RankingsPage"];
export type Contract = S["ContractOut"];
export type Chain = S["ChainOut"];
export type Position = S["PositionOut"];
export type Alert = S["AlertOut"];
export type WatchlistEntry = S["WatchlistEntry"];
export type User = S["UserOut"];
export type ApiKey = S["ApiKeyOut"];
export type ApiKeyCreated = S["ApiKeyCreated"];

/** Endpoints typed as free-form objects in the schema, read field by field. */
export type Json = Record<string, unknown>;
