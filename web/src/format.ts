// Number and time formatting shared by every screen: fixed precision per kind of value,
// times shown in the browser's time zone (the API sends naive UTC timestamps).

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(digits: number, style: "decimal" | "percent" = "decimal"): Intl.NumberFormat {
  const key = `${style}:${digits}`;
  let nf = cache.get(key);
  if (!nf) {
    nf = new Intl.NumberFormat(undefined, {
      style,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    cache.set(key, nf);
  }
  return nf;
}

const DASH = "–";

function usable(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** A plain number with exactly `digits` decimals ("–" when missing). */
export function fmtNumber(value: unknown, digits = 2): string {
  return usable(value) ? numberFormat(digits).format(value) : DASH;
}

/** A fraction as a percentage: 0.1234 -> "12.34 %" style per locale. */
export function fmtPercent(value: unknown, digits = 2): string {
  return usable(value) ? numberFormat(digits, "percent").format(value) : DASH;
}

/** USD amounts: two decimals, sign kept. */
export function fmtMoney(value: unknown): string {
  return fmtNumber(value, 2);
}

/** An integer count with grouping. */
export function fmtInt(value: unknown): string {
  return usable(value) ? numberFormat(0).format(value) : DASH;
}

const OFFSET = /(Z|[+-]\d\d:?\d\d)$/;

/** The API's timestamps are UTC; naive ones (no offset) are read as UTC, not local time. */
export function parseApiTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const iso = value.includes("T") || value.length > 10 ? value.replace(" ", "T") : null;
  if (iso === null) return null;
  const d = new Date(OFFSET.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

const DATE_TIME: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
};
const dateTime = new Intl.DateTimeFormat(undefined, DATE_TIME);

/** A UTC timestamp of the API in the user's time zone, e.g. "12/02/2026, 05:31:07 CET". */
export function fmtDateTime(value: string | null | undefined, timeZone?: string): string {
  const d = parseApiTime(value);
  if (!d) return DASH;
  if (timeZone) return new Intl.DateTimeFormat(undefined, { ...DATE_TIME, timeZone }).format(d);
  return dateTime.format(d);
}

/** A calendar date (expirations): shown as is, no time-zone shift. */
export function fmtDate(value: string | null | undefined): string {
  return value ? value.slice(0, 10) : DASH;
}

/** Seconds as "1.23 s" / "2 min 05 s". */
export function fmtSeconds(value: unknown): string {
  if (!usable(value)) return DASH;
  if (value < 60) return `${fmtNumber(value, 2)} s`;
  const m = Math.floor(value / 60);
  const s = Math.round(value - m * 60);
  return `${m} min ${String(s).padStart(2, "0")} s`;
}
