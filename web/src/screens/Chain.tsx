import { useMemo } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import Alert from "@mui/material/Alert";
import Autocomplete from "@mui/material/Autocomplete";
import Box from "@mui/material/Box";
import Grid from "@mui/material/Grid2";
import LinearProgress from "@mui/material/LinearProgress";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useChain, useWatchlist } from "../api/hooks";
import type { Contract } from "../api/types";
import { EChart, type ChartOption } from "../components/EChart";
import { VirtualTable, type Column } from "../components/VirtualTable";
import { fmtDate, fmtDateTime, fmtInt, fmtMoney, fmtNumber, fmtPercent } from "../format";

/** ATM implied volatility per expiration: the mean IV of the contracts nearest the spot. */
export function termStructure(contracts: Contract[]): { expiration: string; iv: number }[] {
  const byExpiry = new Map<string, Contract[]>();
  for (const c of contracts) {
    if (c.iv === null || c.iv === undefined) continue;
    const list = byExpiry.get(c.expiration) ?? [];
    list.push(c);
    byExpiry.set(c.expiration, list);
  }
  return [...byExpiry.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([expiration, list]) => {
      const distance = (c: Contract) => Math.abs(c.strike - c.underlying_price);
      const nearest = Math.min(...list.map(distance));
      const atm = list.filter((c) => distance(c) === nearest);
      return { expiration, iv: atm.reduce((s, c) => s + (c.iv ?? 0), 0) / atm.length };
    });
}

const COLUMNS: Column<Contract>[] = [
  { key: "right", label: "Type", width: "60px", render: (c) => (c.right === "P" ? "Put" : "Call"), sortValue: (c) => c.right },
  { key: "strike", label: "Strike", align: "right", render: (c) => fmtMoney(c.strike), sortValue: (c) => c.strike },
  { key: "bid", label: "Bid", align: "right", render: (c) => fmtMoney(c.bid), sortValue: (c) => c.bid },
  { key: "ask", label: "Ask", align: "right", render: (c) => fmtMoney(c.ask), sortValue: (c) => c.ask },
  { key: "iv", label: "IV", align: "right", render: (c) => fmtPercent(c.iv), sortValue: (c) => c.iv },
  { key: "delta", label: "Delta", align: "right", render: (c) => fmtNumber(c.delta, 3), sortValue: (c) => c.delta },
  { key: "gamma", label: "Gamma", align: "right", render: (c) => fmtNumber(c.gamma, 4), sortValue: (c) => c.gamma },
  { key: "theta", label: "Theta/day", align: "right", render: (c) => fmtNumber(c.theta, 3), sortValue: (c) => c.theta },
  { key: "vega", label: "Vega/pt", align: "right", render: (c) => fmtNumber(c.vega, 3), sortValue: (c) => c.vega },
  { key: "open_interest", label: "OI", align: "right", render: (c) => fmtInt(c.open_interest), sortValue: (c) => c.open_interest },
  { key: "volume", label: "Volume", align: "right", render: (c) => fmtInt(c.volume), sortValue: (c) => c.volume },
  { key: "occ_symbol", label: "Contract", width: "minmax(170px, 1.4fr)", render: (c) => c.occ_symbol, sortValue: (c) => c.occ_symbol },
];

export default function ChainScreen() {
  const { symbol } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const watchlist = useWatchlist();
  const chain = useChain(symbol);
  const contracts = useMemo(() => chain.data?.contracts ?? [], [chain.data]);
  const expirations = useMemo(
    () => [...new Set(contracts.map((c) => c.expiration))].sort(),
    [contracts],
  );
  const expiry = params.get("expiry") && expirations.includes(params.get("expiry")!)
    ? params.get("expiry")!
    : expirations[0];
  const ofExpiry = useMemo(() => contracts.filter((c) => c.expiration === expiry), [contracts, expiry]);
  const spot = ofExpiry[0]?.underlying_price;

  const smile: ChartOption = useMemo(() => {
    const series = (right: string, name: string) => ({
      name,
      type: "line",
      showSymbol: true,
      symbolSize: 4,
      data: ofExpiry
        .filter((c) => c.right === right && c.iv !== null && c.iv !== undefined)
        .map((c) => [c.strike, c.iv]),
    });
    return {
      title: { text: `IV smile ${fmtDate(expiry)}`, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", valueFormatter: (v: number) => fmtPercent(v) },
      legend: { top: 0, right: 0 },
      grid: { left: 50, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "value", name: "strike", scale: true },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: (v: number) => fmtPercent(v, 0) } },
      series: [
        series("P", "puts"),
        series("C", "calls"),
        ...(spot ? [{ type: "line", name: "spot", data: [], markLine: { symbol: "none", data: [{ xAxis: spot }] } }] : []),
      ],
    };
  }, [ofExpiry, expiry, spot]);

  const term: ChartOption = useMemo(() => {
    const points = termStructure(contracts);
    return {
      title: { text: "ATM term structure", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", valueFormatter: (v: number) => fmtPercent(v) },
      grid: { left: 50, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: points.map((p) => p.expiration) },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: (v: number) => fmtPercent(v, 0) } },
      series: [{ type: "line", name: "ATM IV", data: points.map((p) => p.iv) }],
    };
  }, [contracts]);

  const symbols = (watchlist.data ?? []).map((w) => w.symbol);
  return (
    <Box>
      <Stack direction="row" spacing={2} alignItems="center" flexWrap="wrap" useFlexGap sx={{ mb: 1 }}>
        <Typography variant="h5" component="h1">
          Chain explorer
        </Typography>
        <Autocomplete
          size="small"
          options={symbols}
          value={symbol ?? null}
          onChange={(_, v) => v && navigate(`/app/chains/${encodeURIComponent(v)}`)}
          renderInput={(p) => <TextField {...p} label="Symbol" />}
          sx={{ width: 160 }}
        />
        <TextField
          select
          size="small"
          label="Expiry"
          value={expiry ?? ""}
          onChange={(e) => setParams({ expiry: e.target.value })}
          sx={{ width: 160 }}
          disabled={!expirations.length}
        >
          {expirations.map((e) => (
            <MenuItem key={e} value={e}>
              {e}
            </MenuItem>
          ))}
        </TextField>
        {chain.data && (
          <Typography variant="body2" color="text.secondary" data-testid="chain-meta">
            {chain.data.symbol} · spot {fmtMoney(spot)} · snapshot {fmtDateTime(chain.data.snapshot_at)}
          </Typography>
        )}
      </Stack>
      {!symbol && <Alert severity="info">Pick a symbol, or open a row of the opportunities.</Alert>}
      {chain.isPending && symbol && <LinearProgress />}
      {chain.error && <Alert severity="error">{chain.error.message}</Alert>}
      {chain.data && (
        <>
          <Grid container spacing={2} sx={{ mb: 2 }}>
            <Grid size={{ xs: 12, md: 6 }}>
              <Paper sx={{ p: 1 }}>
                <EChart option={smile} label={`implied volatility smile of ${symbol}`} />
              </Paper>
            </Grid>
            <Grid size={{ xs: 12, md: 6 }}>
              <Paper sx={{ p: 1 }}>
                <EChart option={term} label={`ATM implied volatility term structure of ${symbol}`} />
              </Paper>
            </Grid>
          </Grid>
          <VirtualTable
            label={`chain ${symbol} ${expiry}`}
            rows={ofExpiry}
            columns={COLUMNS}
            rowKey={(c) => c.occ_symbol}
            height={420}
            rowTestId="contract-row"
            initialSort={{ key: "strike", direction: "asc" }}
          />
        </>
      )}
    </Box>
  );
}
