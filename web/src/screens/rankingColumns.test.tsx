import { render, screen } from "@testing-library/react";
import { inferKind, rankingColumns } from "./rankingColumns";
import { filterRankings } from "./Opportunities";

const base = {
  snapshot_at: "2026-12-01T21:00:00",
  run_id: "r1",
  strategy: "csp",
  rank: 1,
  occ_symbol: "AAPL261218P00180000",
  underlying: "AAPL",
  expiration: "2026-12-18",
  strike: 180,
  right: "P",
  underlying_price: 190,
  bid: 1.9,
  ask: 2.1,
  premium: 2,
  days_to_expiry: 17,
  period_return: 0.0111,
  annualized_return: 0.2386,
  probability_otm: 0.81,
  delta: -0.21,
  iv: 0.25,
  breakeven: 178,
  collateral: 18000,
  spread_pct: 0.1,
  score: 0.9,
  blocked: false,
};

describe("ranking columns", () => {
  it("show the known fields with trader labels, numbers right-aligned", () => {
    const cols = rankingColumns([base]);
    const labels = cols.map((c) => c.label);
    for (const label of ["Ann. yield", "P(OTM)", "Breakeven", "Spread", "Premium"]) expect(labels).toContain(label);
    expect(labels).not.toContain("Run id");
    expect(cols.find((c) => c.key === "probability_otm")?.align).toBe("right");
    expect(cols.find((c) => c.key === "underlying")?.align).toBe("left");
  });

  it("add columns for ranking fields the API adds later (EV, earnings and ex-dividend flags)", () => {
    const row = { ...base, expected_value: 1.234, earnings_before_expiry: true, ex_dividend_date: "2026-12-10" };
    const cols = rankingColumns([row]);
    const ev = cols.find((c) => c.key === "expected_value")!;
    expect(ev.label).toBe("EV");
    expect(ev.align).toBe("right");
    const earnings = cols.find((c) => c.key === "earnings_before_expiry")!;
    render(<div>{earnings.render(row)}</div>);
    expect(screen.getByText("Earnings before expiry")).toBeInTheDocument();
    expect(inferKind("ex_dividend_date", "2026-12-10")).toBe("flag");
    expect(inferKind("expected_move_pct", 0.04)).toBe("percent");
  });

  it("filter by symbol prefix, yield, delta, DTE and blocked", () => {
    const rows = [
      base,
      { ...base, occ_symbol: "X1", underlying: "MSFT", annualized_return: 0.05 },
      { ...base, occ_symbol: "X2", delta: -0.4 },
      { ...base, occ_symbol: "X3", blocked: true },
    ];
    const all = { symbol: "", minYieldPct: "", maxDelta: "", maxDte: "", hideBlocked: false };
    expect(filterRankings(rows, all)).toHaveLength(4);
    expect(filterRankings(rows, { ...all, symbol: "ms" })).toHaveLength(1);
    expect(filterRankings(rows, { ...all, minYieldPct: "10" })).toHaveLength(3);
    expect(filterRankings(rows, { ...all, maxDelta: "0.3" })).toHaveLength(3);
    expect(filterRankings(rows, { ...all, hideBlocked: true })).toHaveLength(3);
    expect(filterRankings(rows, { ...all, maxDte: "10" })).toHaveLength(0);
  });
});
