// A plain table for API objects whose fields are not known in advance (risk sections,
// data-quality results): one column per field, numbers right-aligned with fixed precision.
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import { fmtDateTime, fmtNumber } from "../format";

type Row = Record<string, unknown>;

/** A cell's text: numbers with 4 decimals below 1 (ratios), else 2; timestamps localized. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return fmtNumber(value, Math.abs(value) < 1 && value !== 0 ? 4 : 2);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return fmtDateTime(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function JsonTable({
  rows,
  label,
  hide = [],
  highlight,
}: {
  rows: Row[];
  label: string;
  hide?: string[];
  highlight?: (row: Row) => boolean;
}) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !hide.includes(k));
  const numeric = new Set(keys.filter((k) => rows.some((r) => typeof r[k] === "number")));
  return (
    <TableContainer sx={{ maxHeight: 480, border: 1, borderColor: "divider", borderRadius: 1 }}>
      <Table size="small" stickyHeader aria-label={label}>
        <TableHead>
          <TableRow>
            {keys.map((k) => (
              <TableCell key={k} align={numeric.has(k) ? "right" : "left"} sx={{ fontWeight: 600 }}>
                {k.replace(/_/g, " ")}
              </TableCell>
            ))}
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r, i) => (
            <TableRow key={i} selected={highlight?.(r) ?? false}>
              {keys.map((k) => (
                <TableCell
                  key={k}
                  align={numeric.has(k) ? "right" : "left"}
                  sx={{ fontVariantNumeric: "tabular-nums", maxWidth: 420, overflowWrap: "anywhere" }}
                >
                  {cellText(r[k])}
                </TableCell>
              ))}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
