// The auth client against a fake server at the network edge (fetch): tokens stay in memory,
// the refresh cookie is the only thing that survives a reload.
import { api, login, logout, refresh } from "./client";
import { useAuth } from "./store";

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const pair = (n: number, role = "trader") => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  expires_in: 900,
  role,
  token_type: "bearer",
});

let calls: { url: string; init: RequestInit }[];

function serve(handler: Handler) {
  calls = [];
  vi.stubGlobal("fetch", async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    return handler(url, init);
  });
}

beforeEach(() => {
  useAuth.setState({ status: "unknown", session: null });
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

describe("auth client", () => {
  it("keeps the access token in memory only, never in web storage", async () => {
    serve((url) => (url === "/auth/login" ? json(pair(1)) : json({}, 404)));
    const session = await login("alice", "pw");
    expect(session).toMatchObject({ accessToken: "access-1", role: "trader", username: "alice" });
    expect(useAuth.getState().status).toBe("authenticated");
    expect(localStorage.length + sessionStorage.length).toBe(0);
    expect(calls[0].init.credentials).toBe("same-origin"); // so the refresh cookie is stored
  });

  it("sends the bearer token and no cookies to API paths", async () => {
    serve((url) => (url === "/auth/login" ? json(pair(1)) : json([{ id: 1 }])));
    await login("alice", "pw");
    await api("/alerts");
    const call = calls.at(-1)!;
    expect((call.init.headers as Record<string, string>).Authorization).toBe("Bearer access-1");
    expect(call.init.credentials).toBe("omit");
  });

  it("refreshes once with the cookie on a 401 and retries the call", async () => {
    let refreshed = 0;
    serve((url, init) => {
      if (url === "/auth/login") return json(pair(1));
      if (url === "/auth/refresh") {
        refreshed += 1;
        expect(init.body).toBeUndefined(); // the refresh token travels in the httpOnly cookie
        return json(pair(2));
      }
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === "Bearer access-2" ? json({ ok: true }) : json({ detail: "expired" }, 401);
    });
    await login("alice", "pw");
    const [a, b] = await Promise.all([api("/risk"), api("/runs")]);
    expect(a).toEqual({ ok: true });
    expect(b).toEqual({ ok: true });
    expect(refreshed).toBe(1); // one refresh shared by both callers
    expect(useAuth.getState().session?.accessToken).toBe("access-2");
  });

  it("reads the username for display from the token, without another request", async () => {
    const claims = btoa(JSON.stringify({ sub: "7", username: "carol", role: "admin" })).replace(/=+$/, "");
    serve((url) => (url === "/auth/refresh" ? json({ ...pair(4, "admin"), access_token: `h.${claims}.s` }) : json({}, 500)));
    expect(await refresh()).toMatchObject({ username: "carol", role: "admin" });
    expect(calls.map((c) => c.url)).toEqual(["/auth/refresh"]);
  });

  it("restores a session after a reload from the refresh cookie alone", async () => {
    serve((url) => {
      if (url === "/auth/refresh") return json(pair(3, "viewer"));
      if (url === "/auth/me") return json({ username: "bob", role: "viewer", kind: "user" });
      return json({}, 404);
    });
    const session = await refresh();
    expect(session).toMatchObject({ accessToken: "access-3", role: "viewer", username: "bob" });
  });

  it("signs out when the refresh cookie is refused", async () => {
    serve(() => json({ detail: "no refresh token" }, 401));
    expect(await refresh()).toBeNull();
    expect(useAuth.getState().status).toBe("anonymous");
  });

  it("throws the API's error detail", async () => {
    serve((url) => (url === "/auth/login" ? json({ detail: "wrong username or password" }, 401) : json({})));
    await expect(login("alice", "bad")).rejects.toThrow("wrong username or password");
  });

  it("logs out on the server and forgets the token", async () => {
    serve((url) => (url === "/auth/login" ? json(pair(1)) : new Response(null, { status: 204 })));
    await login("alice", "pw");
    await logout();
    expect(calls.at(-1)).toMatchObject({ url: "/auth/logout", init: { method: "POST", credentials: "same-origin" } });
    expect(useAuth.getState().session).toBeNull();
  });
});
