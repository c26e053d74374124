// Columns of the opportunities tables. Known ranking fields get a label and a fixed precision;
// any other field the API adds (expected value, earnings or ex-dividend flags, ...) gets a
// column too, formatted by its type, so new ranking fields appear without a client change.
import Chip from "@mui/material/Chip";
import type { Column } from "../components/VirtualTable";
import { fmtDate, fmtInt, fmtMoney, fmtNumber, fmtPercent } from "../format";

export type Row = Record<string, unknown>;

type Kind = "int" | "money" | "percent" | "number3" | "text" | "date" | "flag";

interface Known {
  label: string;
  kind: Kind;
  title?: string;
  width?: string;
}

const KNOWN: [string, Known][] = [
  ["rank", { label: "#", kind: "int", width: "56px" }],
  ["underlying", { label: "Symbol", kind: "text", width: "84px" }],
  ["expiration", { label: "Expiry", kind: "date", width: "104px" }],
  ["days_to_expiry", { label: "DTE", kind: "int", width: "60px" }],
  ["strike", { label: "Strike", kind: "money" }],
  ["underlying_price", { label: "Spot", kind: "money" }],
  ["bid", { label: "Bid", kind: "money" }],
  ["ask", { label: "Ask", kind: "money" }],
  ["premium", { label: "Premium", kind: "money" }],
  ["expected_value", { label: "EV", kind: "money", title: "Expected value per share (USD)" }],
  ["ev", { label: "EV", kind: "money", title: "Expected value per share (USD)" }],
  ["period_return", { label: "Yield", kind: "percent", title: "Premium / capital at risk" }],
  ["annualized_return", { label: "Ann. yield", kind: "percent", title: "Simple, 365-day" }],
  ["probability_otm", { label: "P(OTM)", kind: "percent" }],
  ["delta", { label: "Delta", kind: "number3" }],
  ["iv", { label: "IV", kind: "percent" }],
  ["breakeven", { label: "Breakeven", kind: "money" }],
  ["spread_pct", { label: "Spread", kind: "percent", title: "(ask - bid) / mid" }],
  ["collateral", { label: "Collateral", kind: "money", title: "Per contract (USD)" }],
  ["open_interest", { label: "OI", kind: "int" }],
  ["volume", { label: "Volume", kind: "int" }],
  ["score", { label: "Score", kind: "number3" }],
  ["blocked", { label: "Blocked", kind: "flag" }],
  ["occ_symbol", { label: "Contract", kind: "text", width: "minmax(170px, 1.4fr)" }],
  ["blocked_reason", { label: "Why blocked", kind: "text", width: "minmax(160px, 2fr)" }],
];
const KNOWN_MAP = new Map(KNOWN);

/** Fields that are the same on every row of a table, or only used for routing. */
const HIDDEN = new Set(["snapshot_at", "run_id", "strategy", "right"]);

const FLAG_WORDS = /earnings|ex_?div|dividend|flag/i;

function titleCase(key: string): string {
  const words = key.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** How an unknown field is shown, from its name and a sample value. */
export function inferKind(key: string, sample: unknown): Kind {
  if (typeof sample === "boolean") return "flag";
  if (typeof sample === "number") {
    if (/pct|percent|return|probability|yield/.test(key)) return "percent";
    return Number.isInteger(sample) && !/price|value|pnl|premium/.test(key) ? "int" : "money";
  }
  if (typeof sample === "string" && /^\d{4}-\d{2}-\d{2}$/.test(sample)) {
    return FLAG_WORDS.test(key) ? "flag" : "date";
  }
  return "text";
}

function renderValue(kind: Kind, value: unknown, label: string) {
  switch (kind) {
    case "int":
      return fmtInt(value);
    case "money":
      return fmtMoney(value);
    case "percent":
      return fmtPercent(value, 2);
    case "number3":
      return fmtNumber(value, 3);
    case "date":
      return fmtDate(value as string | null);
    case "flag":
      if (value === true) return <Chip size="small" color="warning" label={label} />;
      if (typeof value === "string" && value)
        return <Chip size="small" color="warning" label={`${label} ${fmtDate(value)}`} />;
      return "";
    default:
      return value === null || value === undefined ? "" : String(value);
  }
}

/** The columns for rows shaped like ``rows`` (known fields first, then any new ones). */
export function rankingColumns(rows: Row[]): Column<Row>[] {
  const present = new Set<string>();
  const samples = new Map<string, unknown>();
  for (const row of rows.slice(0, 200)) {
    for (const [key, value] of Object.entries(row)) {
      present.add(key);
      if (value !== null && value !== undefined && !samples.has(key)) samples.set(key, value);
    }
  }
  const keys = [
    ...KNOWN.map(([key]) => key).filter((key) => present.has(key)),
    ...[...present].filter((key) => !KNOWN_MAP.has(key) && !HIDDEN.has(key)).sort(),
  ];
  // blocked_reason reads best as the last column
  keys.sort((a, b) => Number(a === "blocked_reason") - Number(b === "blocked_reason"));
  return keys.map((key) => {
    const known = KNOWN_MAP.get(key);
    const kind = known?.kind ?? inferKind(key, samples.get(key));
    const label = known?.label ?? titleCase(key);
    const numeric = kind === "int" || kind === "money" || kind === "percent" || kind === "number3";
    return {
      key,
      label,
      title: known?.title,
      width: known?.width ?? (kind === "flag" ? "110px" : numeric ? "96px" : "minmax(120px, 1fr)"),
      align: numeric ? "right" : kind === "flag" ? "center" : "left",
      render: (row: Row) => renderValue(kind, row[key], label),
      sortValue: (row: Row) => {
        const v = row[key];
        if (typeof v === "boolean") return v ? 1 : 0;
        return v as number | string | null | undefined;
      },
    } satisfies Column<Row>;
  });
}
