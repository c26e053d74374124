// The API client: bearer token from memory, one shared refresh when it expires or a call gets
// 401, cookies only for /auth (credentials "same-origin").
import { useAuth, type Role, type Session } from "./store";
import type { components } from "../api/schema";

type TokenPair = components["schemas"]["TokenPair"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

const REFRESH_MARGIN_MS = 30_000;
let refreshing: Promise<Session | null> | null = null;

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  let message = `${response.status} ${response.statusText}`;
  try {
    body = await response.json();
    const detail = (body as { detail?: unknown })?.detail;
    if (typeof detail === "string") message = detail;
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, message, body);
}

/** The ``username`` claim of a JWT, read for display only (the server verifies the token). */
export function tokenUsername(token: string): string | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))) as {
      username?: unknown;
    };
    return typeof claims.username === "string" ? claims.username : null;
  } catch {
    return null;
  }
}

async function sessionFrom(pair: TokenPair, username?: string): Promise<Session> {
  const session: Session = {
    accessToken: pair.access_token,
    role: pair.role as Role,
    username: username ?? tokenUsername(pair.access_token) ?? "",
    expiresAt: Date.now() + pair.expires_in * 1000,
  };
  if (!session.username) {
    const me = await fetch("/auth/me", {
      headers: { Authorization: `Bearer ${pair.access_token}` },
    });
    if (me.ok) session.username = ((await me.json()) as { username: string }).username;
  }
  return session;
}

export async function login(username: string, password: string): Promise<Session> {
  const response = await fetch("/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw await errorFrom(response);
  const session = await sessionFrom((await response.json()) as TokenPair, username);
  useAuth.getState().setSession(session);
  return session;
}

/** Spend the refresh cookie for a new access token; one request however many callers wait. */
export function refresh(): Promise<Session | null> {
  if (!refreshing) {
    const previous = useAuth.getState().session;
    refreshing = (async () => {
      try {
        const response = await fetch("/auth/refresh", {
          method: "POST",
          credentials: "same-origin",
        });
        if (!response.ok) {
          useAuth.getState().setSession(null);
          return null;
        }
        const session = await sessionFrom((await response.json()) as TokenPair, previous?.username);
        useAuth.getState().setSession(session);
        return session;
      } catch {
        useAuth.getState().setSession(null);
        return null;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

export async function logout(): Promise<void> {
  try {
    await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    useAuth.getState().setSession(null);
  }
}

async function validToken(): Promise<string | null> {
  const session = useAuth.getState().session;
  if (session && session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
  return (await refresh())?.accessToken ?? null;
}

/** fetch + JSON for API paths: adds the bearer token, refreshes once on 401, throws ApiError. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const send = (token: string | null) =>
    fetch(path, {
      ...init,
      credentials: "omit",
      headers: {
        ...(init.body ? { "Content-Type": "application/json" } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...init.headers,
      },
    });
  let response = await send(await validToken());
  if (response.status === 401) {
    const session = await refresh();
    if (session) response = await send(session.accessToken);
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
