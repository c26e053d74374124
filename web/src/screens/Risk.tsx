// The latest risk check as /risk returns it: checks and breaches, plus any further section the
// API adds (exposure, portfolio greeks, scenarios as tables; a correlation matrix as a heatmap).
import { useMemo } from "react";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useRisk } from "../api/hooks";
import type { Json } from "../api/types";
import { EChart, type ChartOption } from "../components/EChart";
import { JsonTable, cellText } from "../components/JsonTable";
import { fmtDateTime, fmtNumber } from "../format";

const HEADER = new Set(["snapshot_at", "run_id", "passed", "checks", "breaches"]);

type Matrix = { labels: string[]; values: number[][] };

/** A square numeric matrix, from {a: {a: 1, b: .3}, ...} or {labels, matrix|values}. */
export function asMatrix(value: unknown): Matrix | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const v = value as Json;
  const labels = (v.labels ?? v.symbols) as unknown;
  const grid = (v.matrix ?? v.values) as unknown;
  if (Array.isArray(labels) && Array.isArray(grid)) return { labels: labels.map(String), values: grid as number[][] };
  const rows = Object.entries(v);
  if (!rows.length || !rows.every(([, r]) => r && typeof r === "object" && !Array.isArray(r))) return null;
  const names = rows.map(([k]) => k);
  return { labels: names, values: rows.map(([, r]) => names.map((n) => Number((r as Json)[n]))) };
}

function Heatmap({ matrix, title }: { matrix: Matrix; title: string }) {
  const option: ChartOption = useMemo(() => ({
    tooltip: { formatter: (p: { value: number[] }) => `${matrix.labels[p.value[1]]} / ${matrix.labels[p.value[0]]}: ${fmtNumber(p.value[2], 2)}` },
    grid: { left: 70, right: 16, top: 10, bottom: 60 },
    xAxis: { type: "category", data: matrix.labels, axisLabel: { rotate: 45 } },
    yAxis: { type: "category", data: matrix.labels },
    visualMap: { min: -1, max: 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120 },
    series: [{ type: "heatmap", data: matrix.values.flatMap((row, y) => row.map((v, x) => [x, y, v])) }],
  }), [matrix]);
  return <EChart option={option} height={Math.max(260, 28 * matrix.labels.length + 90)} label={title} />;
}

function Section({ name, value }: { name: string; value: unknown }) {
  const title = name.replace(/_/g, " ");
  let body: React.ReactNode;
  const matrix = /corr/i.test(name) ? asMatrix(value) : null;
  if (matrix) body = <Heatmap matrix={matrix} title={title} />;
  else if (Array.isArray(value) && value.every((r) => r && typeof r === "object")) body = <JsonTable rows={value as Json[]} label={title} />;
  else if (value && typeof value === "object") {
    body = <JsonTable rows={Object.entries(value as Json).map(([k, v]) => ({ name: k, value: v }))} label={title} />;
  } else body = <Typography>{cellText(value)}</Typography>;
  return (
    <Paper variant="outlined" sx={{ p: 1 }}>
      <Typography variant="h6" component="h2" sx={{ textTransform: "capitalize" }}>{title}</Typography>
      {body}
    </Paper>
  );
}

export default function RiskScreen() {
  const { data, isPending, error } = useRisk();
  const extra = Object.entries(data ?? {}).filter(([k]) => !HEADER.has(k));
  return (
    <Box>
      <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 1 }}>
        <Typography variant="h5" component="h1">Risk</Typography>
        {data && data.passed !== null && (
          <Chip color={data.passed ? "success" : "error"} label={data.passed ? "all checks pass" : "breaches"} data-testid="risk-status" />
        )}
        <Typography variant="body2" color="text.secondary">{data?.snapshot_at ? `snapshot ${fmtDateTime(data.snapshot_at as string)}` : ""}</Typography>
      </Stack>
      {isPending && <LinearProgress />}
      {error && <Alert severity="error">{error.message}</Alert>}
      {data && data.snapshot_at === null && <Alert severity="info">No risk check stored yet: run the pipeline.</Alert>}
      <Stack spacing={2}>
        {data && (data.checks as Json[])?.length > 0 && (
          <Paper variant="outlined" sx={{ p: 1 }}>
            <Typography variant="h6" component="h2">Checks</Typography>
            <JsonTable rows={data.checks as Json[]} label="risk checks" hide={["snapshot_at", "run_id"]} highlight={(r) => r.passed === false} />
          </Paper>
        )}
        {extra.map(([k, v]) => <Section key={k} name={k} value={v} />)}
      </Stack>
    </Box>
  );
}
