// Live updates over the API's /live WebSocket: authenticated by the first message (the access
// token never goes in the URL), reconnects with exponential backoff, and resyncs (refetches every
// query) after a reconnect, since events may have been missed while it was down.
import { useEffect } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { create } from "zustand";
import { useAuth } from "./auth/store";
import { refresh } from "./auth/client";
import type { Alert } from "./api/types";

export type LiveStatus = "offline" | "connecting" | "live";

interface LiveState {
  status: LiveStatus;
  lastRunEvent: number | null; // performance.now() of the last finished-run event
  newAlertIds: number[];
  set: (patch: Partial<Omit<LiveState, "set">>) => void;
}

export const useLive = create<LiveState>((set) => ({
  status: "offline",
  lastRunEvent: null,
  newAlertIds: [],
  set: (patch) => set(patch),
}));

export interface RunEvent {
  type: "run";
  run_id: string;
  status: string;
}
export interface AlertEvent {
  type: "alert";
  alert: Alert;
}
export type LiveEvent = RunEvent | AlertEvent | { type: "hello"; role: string; username: string };

/** What an event changes in the client cache. */
export function applyEvent(client: QueryClient, event: LiveEvent): void {
  if (event.type === "run") {
    void client.invalidateQueries({ queryKey: ["runs"] });
    if (event.status === "completed") {
      useLive.getState().set({ lastRunEvent: performance.now() });
      for (const key of ["rankings", "chain", "risk", "pnl", "positions", "wheel-cycles"]) {
        void client.invalidateQueries({ queryKey: [key] });
      }
    }
  } else if (event.type === "alert") {
    client.setQueryData<Alert[]>(["alerts"], (old) =>
      old && !old.some((a) => a.id === event.alert.id) ? [event.alert, ...old] : old,
    );
    const ids = useLive.getState().newAlertIds;
    useLive.getState().set({ newAlertIds: [event.alert.id, ...ids].slice(0, 50) });
  }
}

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling to 15 s, with jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** attempt);
  return Math.round(base * (0.75 + 0.5 * random()));
}

export function liveUrl(location: Pick<Location, "protocol" | "host">): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/live`;
}

/** Keeps one socket open while signed in. */
export function useLiveUpdates(): void {
  const client = useQueryClient();
  const signedIn = useAuth((s) => s.status === "authenticated");

  useEffect(() => {
    if (!signedIn) return;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    let attempt = 0;
    let everConnected = false;
    let stopped = false;
    const { set } = useLive.getState();

    const connect = () => {
      set({ status: "connecting" });
      socket = new WebSocket(liveUrl(window.location));
      socket.onopen = async () => {
        let token = useAuth.getState().session?.accessToken;
        if (!token || (useAuth.getState().session?.expiresAt ?? 0) - Date.now() < 30_000) {
          token = (await refresh())?.accessToken;
        }
        socket?.send(JSON.stringify({ type: "auth", token: token ?? "" }));
      };
      socket.onmessage = (message) => {
        if (message.data === "pong") return;
        const event = JSON.parse(String(message.data)) as LiveEvent;
        if (event.type === "hello") {
          set({ status: "live" });
          if (everConnected) void client.invalidateQueries(); // resync what we missed
          everConnected = true;
          attempt = 0;
          return;
        }
        applyEvent(client, event);
      };
      socket.onclose = () => {
        set({ status: "offline" });
        if (stopped) return;
        timer = setTimeout(connect, backoffMs(attempt++));
      };
    };
    connect();
    ping = setInterval(() => socket?.readyState === WebSocket.OPEN && socket.send("ping"), 25_000);
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(ping);
      socket?.close();
      set({ status: "offline" });
    };
  }, [signedIn, client]);
}
