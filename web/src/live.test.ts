import { QueryClient } from "@tanstack/react-query";
import { applyEvent, backoffMs, liveUrl, useLive } from "./live";
import type { Alert } from "./api/types";

describe("live updates", () => {
  it("back off exponentially up to 15 s, with jitter", () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((n) => backoffMs(n, mid))).toEqual([500, 1000, 2000, 4000, 15000]);
    expect(backoffMs(0, () => 0)).toBe(375);
    expect(backoffMs(0, () => 1)).toBe(625);
  });

  it("use wss on https and never put the token in the URL", () => {
    expect(liveUrl({ protocol: "https:", host: "desk.example" })).toBe("wss://desk.example/live");
    expect(liveUrl({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000/live");
  });

  it("a finished run marks rankings stale", async () => {
    const client = new QueryClient();
    client.setQueryData(["rankings", "csp"], { items: [] });
    applyEvent(client, { type: "run", run_id: "r2", status: "completed" });
    expect(client.getQueryState(["rankings", "csp"])?.isInvalidated).toBe(true);
    expect(useLive.getState().lastRunEvent).not.toBeNull();
  });

  it("a new alert is added on top of the feed once", () => {
    const client = new QueryClient();
    const old = { id: 1, title: "old" } as Alert;
    const fresh = { id: 2, title: "new" } as Alert;
    client.setQueryData(["alerts"], [old]);
    applyEvent(client, { type: "alert", alert: fresh });
    applyEvent(client, { type: "alert", alert: fresh });
    expect(client.getQueryData<Alert[]>(["alerts"])?.map((a) => a.id)).toEqual([2, 1]);
    expect(useLive.getState().newAlertIds[0]).toBe(2);
  });
});
