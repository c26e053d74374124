import { useMemo } from "react";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Card from "@mui/material/Card";
import CardContent from "@mui/material/CardContent";
import Grid from "@mui/material/Grid2";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Step from "@mui/material/Step";
import StepLabel from "@mui/material/StepLabel";
import Stepper from "@mui/material/Stepper";
import Typography from "@mui/material/Typography";
import { usePnl, usePositions, useWheelCycles } from "../api/hooks";
import type { Json, Position } from "../api/types";
import { EChart, type ChartOption } from "../components/EChart";
import { VirtualTable, type Column } from "../components/VirtualTable";
import { fmtDateTime, fmtInt, fmtMoney, parseApiTime } from "../format";

const STEPS = ["Put sold", "Assigned", "Calls sold", "Called away"];

/** How far a wheel cycle got: 0 put sold, 1 assigned (stock), 2 call sold, 3 called away. */
export function cycleStep(cycle: Json): number {
  const state = String(cycle.state ?? "");
  if (state === "SHORT_CALL") return 2;
  if (state === "LONG_STOCK") return 1;
  if (state === "SHORT_PUT") return 0;
  if (cycle.is_open === false) return cycle.assigned ? 3 : 0;
  return 0;
}

/** Cumulative realized P&L (USD) at each closing, oldest first. */
export function realizedCurve(positions: Position[]): [number, number][] {
  const closed = positions
    .map((p) => [parseApiTime((p as Json).closed_at as string | null)?.getTime(), p.realized_pnl] as const)
    .filter((x): x is readonly [number, number] => x[0] !== undefined)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  return closed.map(([t, pnl]) => [t, (total += pnl)]);
}

const POSITION_COLUMNS: Column<Position>[] = [
  { key: "symbol", label: "Symbol", width: "84px", render: (p) => p.symbol, sortValue: (p) => p.symbol },
  { key: "asset_type", label: "Type", width: "70px", render: (p) => p.asset_type, sortValue: (p) => p.asset_type },
  { key: "occ", label: "Contract", width: "minmax(160px,1.4fr)", render: (p) => String((p as Json).occ_symbol ?? ""), sortValue: (p) => String((p as Json).occ_symbol ?? "") },
  { key: "quantity", label: "Qty", align: "right", render: (p) => fmtInt(p.quantity), sortValue: (p) => p.quantity },
  { key: "average_price", label: "Avg price", align: "right", render: (p) => fmtMoney(p.average_price), sortValue: (p) => p.average_price },
  { key: "realized_pnl", label: "Realized", align: "right", render: (p) => fmtMoney(p.realized_pnl), sortValue: (p) => p.realized_pnl },
  { key: "status", label: "Status", width: "80px", render: (p) => p.status, sortValue: (p) => p.status },
  { key: "opened_at", label: "Opened", width: "minmax(170px,1fr)", render: (p) => fmtDateTime(p.opened_at), sortValue: (p) => p.opened_at },
];

function Figure({ label, value, testId }: { label: string; value: unknown; testId?: string }) {
  return (
    <Card variant="outlined">
      <CardContent sx={{ py: 1, "&:last-child": { pb: 1 } }}>
        <Typography variant="caption" color="text.secondary">
          {label}
        </Typography>
        <Typography variant="h6" sx={{ textAlign: "right", fontVariantNumeric: "tabular-nums" }} data-testid={testId}>
          {fmtMoney(value)}
        </Typography>
      </CardContent>
    </Card>
  );
}

export default function PositionsScreen() {
  const positions = usePositions();
  const pnl = usePnl();
  const cycles = useWheelCycles();
  const total = (pnl.data?.total ?? {}) as Json;
  const cycleList = ((cycles.data?.cycles as Json[]) ?? []).slice(0, 200);
  const bySymbol = useMemo(() => {
    const groups = new Map<string, Json[]>();
    for (const c of cycleList) groups.set(String(c.symbol), [...(groups.get(String(c.symbol)) ?? []), c]);
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [cycleList]);
  const curve: ChartOption = useMemo(
    () => ({
      title: { text: "Cumulative realized P&L (USD)", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", valueFormatter: (v: number) => fmtMoney(v) },
      grid: { left: 60, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "time" },
      yAxis: { type: "value", scale: true },
      series: [{ type: "line", step: "end", showSymbol: false, areaStyle: { opacity: 0.15 }, data: realizedCurve(positions.data ?? []) }],
    }),
    [positions.data],
  );

  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>
        Positions and wheel cycles
      </Typography>
      {(positions.isPending || pnl.isPending) && <LinearProgress />}
      {positions.error && <Alert severity="error">{positions.error.message}</Alert>}
      <Grid container spacing={1} sx={{ mb: 2 }}>
        <Grid size={{ xs: 6, md: 3 }}><Figure label="Realized P&L" value={total.realized} testId="pnl-realized" /></Grid>
        <Grid size={{ xs: 6, md: 3 }}><Figure label="Unrealized P&L" value={total.unrealized} /></Grid>
        <Grid size={{ xs: 6, md: 3 }}><Figure label="Total P&L" value={total.total} /></Grid>
        <Grid size={{ xs: 6, md: 3 }}>
          <Card variant="outlined"><CardContent sx={{ py: 1, "&:last-child": { pb: 1 } }}>
            <Typography variant="caption" color="text.secondary">Unmarked positions</Typography>
            <Typography variant="h6" sx={{ textAlign: "right" }}>{fmtInt(total.unmarked_positions)}</Typography>
          </CardContent></Card>
        </Grid>
      </Grid>
      <Paper sx={{ p: 1, mb: 2 }}>
        <EChart option={curve} height={240} label="cumulative realized profit and loss" />
      </Paper>
      <Typography variant="h6" component="h2">Wheel cycles</Typography>
      {cycles.data && bySymbol.length === 0 && <Typography color="text.secondary">No cycles yet.</Typography>}
      <Stack spacing={1} sx={{ mb: 2 }}>
        {bySymbol.map(([symbol, list]) => (
          <Paper key={symbol} variant="outlined" sx={{ p: 1 }} data-testid="cycle-symbol">
            <Typography variant="subtitle1" fontWeight={600}>{symbol}</Typography>
            {list.map((c) => (
              <Box key={String(c.id ?? c.cycle)} sx={{ display: "grid", gridTemplateColumns: { xs: "1fr", md: "2fr 1fr" }, gap: 1, alignItems: "center", py: 0.5 }}>
                <Stepper activeStep={cycleStep(c)} alternativeLabel>
                  {STEPS.map((s) => (<Step key={s}><StepLabel>{s}</StepLabel></Step>))}
                </Stepper>
                <Box sx={{ fontSize: 13, fontVariantNumeric: "tabular-nums", display: "grid", gridTemplateColumns: "auto auto", columnGap: 1 }}>
                  <span>Premiums</span><span style={{ textAlign: "right" }}>{fmtMoney(c.premium_collected)}</span>
                  <span>Cost basis</span><span style={{ textAlign: "right" }}>{fmtMoney(c.cost_basis)}</span>
                  <span>Realized</span><span style={{ textAlign: "right" }}>{fmtMoney(c.realized_pnl)}</span>
                  <span>Opened</span><span style={{ textAlign: "right" }}>{fmtDateTime(c.opened_at as string)}</span>
                </Box>
              </Box>
            ))}
          </Paper>
        ))}
      </Stack>
      <Typography variant="h6" component="h2">Positions</Typography>
      <VirtualTable label="positions" rows={positions.data ?? []} columns={POSITION_COLUMNS} rowKey={(p) => String(p.id)} height={360} rowTestId="position-row" />
    </Box>
  );
}
