// Server state: one TanStack Query hook per endpoint the screens read.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../auth/client";
import type { Alert, Chain, Json, Position, Ranking, RankingsPage, WatchlistEntry } from "./types";

export type Strategy = "csp" | "cc";

export interface RankingSet {
  items: Ranking[];
  snapshot_at: string | null;
  run_id: string | null;
}

const FIRST_PAGE = 200; // small, so the first rows show at once; the rest in pages of 1000
const PAGE = 1000;

/** Every ranking of the latest run for a strategy (follows next_cursor; the cursor pins the run).
 * `onPage` sees the rows so far after each page, so a long list shows before it is complete. */
export async function fetchAllRankings(
  strategy: Strategy,
  onPage?: (partial: RankingSet) => void,
): Promise<RankingSet> {
  const items: Ranking[] = [];
  let cursor: string | null = null;
  let first: RankingsPage | null = null;
  do {
    const query = new URLSearchParams({ strategy, limit: String(first ? PAGE : FIRST_PAGE) });
    if (cursor) query.set("cursor", cursor);
    const page: RankingsPage = await api<RankingsPage>(`/rankings?${query}`);
    first ??= page;
    items.push(...page.items);
    cursor = page.next_cursor ?? null;
    if (cursor && onPage) {
      onPage({ items: [...items], snapshot_at: first.snapshot_at ?? null, run_id: first.run_id ?? null });
    }
  } while (cursor);
  return { items, snapshot_at: first?.snapshot_at ?? null, run_id: first?.run_id ?? null };
}

export function useRankings(strategy: Strategy) {
  const client = useQueryClient();
  const key = ["rankings", strategy];
  return useQuery({
    queryKey: key,
    queryFn: () => fetchAllRankings(strategy, (partial) => client.setQueryData(key, partial)),
  });
}

export const useChain = (symbol: string | undefined) =>
  useQuery({
    queryKey: ["chain", symbol],
    queryFn: () => api<Chain>(`/chains/${encodeURIComponent(symbol ?? "")}`),
    enabled: !!symbol,
  });

export const useWatchlist = () =>
  useQuery({ queryKey: ["watchlist"], queryFn: () => api<WatchlistEntry[]>("/watchlist") });

export const usePositions = () =>
  useQuery({ queryKey: ["positions"], queryFn: () => api<Position[]>("/positions") });

export const usePnl = () => useQuery({ queryKey: ["pnl"], queryFn: () => api<Json>("/pnl") });

export const useWheelCycles = () =>
  useQuery({ queryKey: ["wheel-cycles"], queryFn: () => api<Json>("/wheel-cycles") });

export const useRisk = () => useQuery({ queryKey: ["risk"], queryFn: () => api<Json>("/risk") });

export const useAlerts = () =>
  useQuery({ queryKey: ["alerts"], queryFn: () => api<Alert[]>("/alerts?limit=200") });

export const useRuns = () =>
  useQuery({ queryKey: ["runs"], queryFn: () => api<Json[]>("/runs?limit=50") });

export const useRunQuality = (runId: string | null) =>
  useQuery({
    queryKey: ["run-quality", runId],
    queryFn: () => api<Json>(`/runs/${encodeURIComponent(runId ?? "")}/quality`),
    enabled: !!runId,
  });
