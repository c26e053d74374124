import { fetchAllRankings, type RankingSet } from "./hooks";
import { useAuth } from "../auth/store";

function page(ids: number[], next: string | null) {
  return {
    items: ids.map((i) => ({ occ_symbol: `X${i}`, rank: i })),
    snapshot_at: "2026-12-01T21:00:00",
    run_id: "r1",
    next_cursor: next,
  };
}

describe("fetchAllRankings", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("follows next_cursor to the last page and reports the rows so far after each page", async () => {
    useAuth.setState({
      status: "authenticated",
      session: { accessToken: "t", role: "viewer", username: "v", expiresAt: Date.now() + 600_000 },
    });
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      const cursor = new URL(url, "http://x").searchParams.get("cursor");
      const body = cursor === null ? page([1, 2], "c1") : cursor === "c1" ? page([3, 4], "c2") : page([5], null);
      return new Response(JSON.stringify(body), { status: 200 });
    });
    const partials: RankingSet[] = [];
    const all = await fetchAllRankings("csp", (p) => partials.push(p));
    expect(all.items.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(all.run_id).toBe("r1");
    expect(partials.map((p) => p.items.length)).toEqual([2, 4]);
    expect(urls[0]).toBe("/rankings?strategy=csp&limit=200"); // a small first page shows at once
    expect(urls[1]).toBe("/rankings?strategy=csp&limit=1000&cursor=c1");
    expect(urls[2]).toContain("cursor=c2");
  });
});
