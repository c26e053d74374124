import { useState } from "react";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useRunQuality, useRuns } from "../api/hooks";
import type { Json } from "../api/types";
import { VirtualTable, type Column } from "../components/VirtualTable";
import { JsonTable } from "../components/JsonTable";
import { fmtDateTime, fmtInt, fmtSeconds, parseApiTime } from "../format";

const STATUS_COLOR: Record<string, "success" | "error" | "warning"> = {
  completed: "success",
  failed: "error",
  running: "warning",
};

/** Seconds from start to finish of a run (null while running). */
export function runSeconds(run: Json): number | null {
  const start = parseApiTime(run.started_at as string)?.getTime();
  const end = parseApiTime(run.finished_at as string | null)?.getTime();
  return start !== undefined && end !== undefined ? (end - start) / 1000 : null;
}

const COLUMNS: Column<Json>[] = [
  { key: "status", label: "Status", width: "110px", render: (r) => <Chip size="small" label={String(r.status)} color={STATUS_COLOR[String(r.status)] ?? "default"} />, sortValue: (r) => String(r.status) },
  { key: "started_at", label: "Started", width: "minmax(180px,1fr)", render: (r) => fmtDateTime(r.started_at as string), sortValue: (r) => String(r.started_at) },
  { key: "duration", label: "Duration", align: "right", render: (r) => fmtSeconds(runSeconds(r)), sortValue: (r) => runSeconds(r) },
  { key: "n_underlyings", label: "Symbols", align: "right", render: (r) => fmtInt(r.n_underlyings), sortValue: (r) => r.n_underlyings as number },
  { key: "n_contracts", label: "Contracts", align: "right", render: (r) => fmtInt(r.n_contracts), sortValue: (r) => r.n_contracts as number },
  { key: "n_rankings", label: "Rankings", align: "right", render: (r) => fmtInt(r.n_rankings), sortValue: (r) => r.n_rankings as number },
  { key: "quarantined_rows", label: "Quarantined", align: "right", render: (r) => fmtInt(r.quarantined_rows), sortValue: (r) => r.quarantined_rows as number },
  { key: "provider", label: "Provider", width: "90px", render: (r) => String(r.provider ?? ""), sortValue: (r) => String(r.provider) },
  { key: "run_id", label: "Run", width: "minmax(200px,1.5fr)", render: (r) => String(r.run_id), sortValue: (r) => String(r.run_id) },
];

export default function RunsScreen() {
  const runs = useRuns();
  const [selected, setSelected] = useState<Json | null>(null);
  const runId = (selected?.run_id as string) ?? null;
  const quality = useRunQuality(runId);
  const stages = Object.entries((selected?.stage_seconds as Record<string, number>) ?? {});

  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>Pipeline runs</Typography>
      {runs.isPending && <LinearProgress />}
      {runs.error && <Alert severity="error">{runs.error.message}</Alert>}
      <VirtualTable label="pipeline runs" rows={runs.data ?? []} columns={COLUMNS} rowKey={(r) => String(r.run_id)} height={280} rowTestId="run-row" onActivate={setSelected} />
      {!selected && <Typography color="text.secondary" sx={{ mt: 1 }}>Open a run (click, or Enter) for its stage times and data quality.</Typography>}
      {selected && (
        <Stack spacing={2} sx={{ mt: 2 }} data-testid="run-details">
          <Typography variant="h6" component="h2">Run {runId}</Typography>
          {Boolean(selected.error) && <Alert severity="error">{String(selected.error)}</Alert>}
          <Paper variant="outlined" sx={{ p: 1 }}>
            <Typography variant="subtitle1" fontWeight={600}>Stage times</Typography>
            <JsonTable rows={stages.map(([stage, seconds]) => ({ stage, seconds }))} label="stage times" />
          </Paper>
          {quality.isPending && <LinearProgress />}
          {quality.error && <Alert severity="error">{quality.error.message}</Alert>}
          {quality.data && (
            <>
              <Paper variant="outlined" sx={{ p: 1 }}>
                <Typography variant="subtitle1" fontWeight={600}>Data-quality results</Typography>
                <JsonTable rows={quality.data.quality_results as Json[]} label="data-quality results" hide={["run_id", "expectations", "snapshot_at"]} highlight={(r) => r.success === false} />
              </Paper>
              <Paper variant="outlined" sx={{ p: 1 }}>
                <Typography variant="subtitle1" fontWeight={600}>
                  Quarantined rows ({fmtInt(quality.data.quarantined_total)})
                </Typography>
                <JsonTable rows={quality.data.quarantined as Json[]} label="quarantined rows" hide={["payload"]} />
              </Paper>
            </>
          )}
        </Stack>
      )}
    </Box>
  );
}
