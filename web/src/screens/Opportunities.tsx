import { useMemo, useState } from "react";
import { useNavigate } from "react-router-dom";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import FormControlLabel from "@mui/material/FormControlLabel";
import LinearProgress from "@mui/material/LinearProgress";
import Stack from "@mui/material/Stack";
import Switch from "@mui/material/Switch";
import Tab from "@mui/material/Tab";
import Tabs from "@mui/material/Tabs";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useRankings, type Strategy } from "../api/hooks";
import { VirtualTable } from "../components/VirtualTable";
import { fmtDateTime, fmtInt } from "../format";
import { rankingColumns, type Row } from "./rankingColumns";

export interface RankingFilters {
  symbol: string;
  minYieldPct: string; // annualized, percent
  maxDelta: string;
  maxDte: string;
  hideBlocked: boolean;
}

const EMPTY: RankingFilters = {
  symbol: "",
  minYieldPct: "",
  maxDelta: "",
  maxDte: "",
  hideBlocked: false,
};

function num(text: string): number | null {
  const v = Number.parseFloat(text);
  return Number.isFinite(v) ? v : null;
}

/** Client-side filtering of one run's rankings (all rows are loaded: 5,000 filter instantly). */
export function filterRankings(rows: Row[], f: RankingFilters): Row[] {
  const symbol = f.symbol.trim().toUpperCase();
  const minYield = num(f.minYieldPct);
  const maxDelta = num(f.maxDelta);
  const maxDte = num(f.maxDte);
  return rows.filter(
    (r) =>
      (!symbol || String(r.underlying).startsWith(symbol)) &&
      (minYield === null || (r.annualized_return as number) * 100 >= minYield) &&
      (maxDelta === null || Math.abs(r.delta as number) <= maxDelta) &&
      (maxDte === null || (r.days_to_expiry as number) <= maxDte) &&
      (!f.hideBlocked || !r.blocked),
  );
}

export function OpportunitiesScreen() {
  const [strategy, setStrategy] = useState<Strategy>("csp");
  const [filters, setFilters] = useState<RankingFilters>(EMPTY);
  const { data, isPending, isFetching, error } = useRankings(strategy);
  const navigate = useNavigate();
  const rows = (data?.items ?? []) as unknown as Row[];
  const columns = useMemo(() => rankingColumns(rows), [rows]);
  const shown = useMemo(() => filterRankings(rows, filters), [rows, filters]);
  const field = (key: keyof RankingFilters, label: string, width = 130) => (
    <TextField
      size="small"
      label={label}
      value={filters[key] as string}
      onChange={(e) => setFilters({ ...filters, [key]: e.target.value })}
      sx={{ width }}
      inputProps={{ "aria-label": label }}
    />
  );

  return (
    <Box>
      <Stack direction="row" alignItems="baseline" spacing={2} flexWrap="wrap">
        <Typography variant="h5" component="h1">
          Opportunities
        </Typography>
        <Typography variant="body2" color="text.secondary" data-testid="snapshot-at">
          {data?.snapshot_at ? `snapshot ${fmtDateTime(data.snapshot_at)}` : ""}
        </Typography>
        <Typography variant="body2" color="text.secondary" data-testid="run-id">
          {data?.run_id ?? ""}
        </Typography>
      </Stack>
      <Tabs value={strategy} onChange={(_, v: Strategy) => setStrategy(v)} sx={{ mb: 1 }}>
        <Tab value="csp" label="Cash-secured puts" />
        <Tab value="cc" label="Covered calls" />
      </Tabs>
      <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ mb: 1 }}>
        {field("symbol", "Symbol", 110)}
        {field("minYieldPct", "Min ann. yield %")}
        {field("maxDelta", "Max |delta|")}
        {field("maxDte", "Max DTE", 100)}
        <FormControlLabel
          control={
            <Switch
              checked={filters.hideBlocked}
              onChange={(e) => setFilters({ ...filters, hideBlocked: e.target.checked })}
            />
          }
          label="Hide blocked"
        />
        <Typography variant="body2" sx={{ alignSelf: "center" }} data-testid="row-count">
          {fmtInt(shown.length)} of {fmtInt(rows.length)}
        </Typography>
      </Stack>
      {(isPending || isFetching) && <LinearProgress sx={{ mb: 0.5 }} />}
      {error && <Alert severity="error">{error.message}</Alert>}
      {!isPending && (
        <VirtualTable
          label={strategy === "csp" ? "cash-secured puts" : "covered calls"}
          rows={shown}
          columns={columns}
          rowKey={(r) => String(r.occ_symbol)}
          height="calc(100vh - 260px)"
          rowTestId="ranking-row"
          onActivate={(r) =>
            navigate(
              `/app/chains/${encodeURIComponent(String(r.underlying))}?expiry=${String(r.expiration)}`,
            )
          }
        />
      )}
    </Box>
  );
}
