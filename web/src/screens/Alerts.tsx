import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useAlerts } from "../api/hooks";
import type { Alert as AlertRow, Json } from "../api/types";
import { api, ApiError } from "../auth/client";
import { roleAllows, useAuth } from "../auth/store";
import { JsonTable } from "../components/JsonTable";
import { fmtDateTime } from "../format";
import { useLive } from "../live";

const SEVERITY_COLOR = { info: "info", warning: "warning", critical: "error" } as const;

/** The caller's alert subscriptions, when the API offers /me/subscriptions (404: hidden). */
function Subscriptions() {
  const client = useQueryClient();
  const subs = useQuery({
    queryKey: ["subscriptions"],
    queryFn: async () => {
      try {
        return await api<Json[]>("/me/subscriptions");
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
        throw e;
      }
    },
  });
  const remove = useMutation({
    mutationFn: (id: number) => api<void>(`/me/subscriptions/${id}`, { method: "DELETE" }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["subscriptions"] }),
  });
  const test = useMutation({
    mutationFn: () => api<Json[]>("/me/subscriptions/test", { method: "POST", body: "{}" }),
  });
  if (subs.data === null || subs.isPending) return null;
  return (
    <Paper variant="outlined" sx={{ p: 1, mt: 2 }}>
      <Stack direction="row" spacing={1} alignItems="center">
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>Subscriptions</Typography>
        <Button size="small" onClick={() => test.mutate()} disabled={!subs.data?.length}>Send test</Button>
      </Stack>
      {subs.error && <Alert severity="error">{subs.error.message}</Alert>}
      {test.data && <JsonTable rows={test.data} label="test sends" />}
      {subs.data && subs.data.length === 0 && <Typography color="text.secondary">No subscriptions.</Typography>}
      {subs.data && subs.data.length > 0 && (
        <Stack spacing={1}>
          <JsonTable rows={subs.data} label="subscriptions" />
          <Stack direction="row" spacing={1} flexWrap="wrap">
            {subs.data.map((s) => (
              <Button key={String(s.id)} size="small" color="error" onClick={() => remove.mutate(Number(s.id))}>
                Delete #{String(s.id)}
              </Button>
            ))}
          </Stack>
        </Stack>
      )}
    </Paper>
  );
}

export default function AlertsScreen() {
  const { data, isPending, error } = useAlerts();
  const fresh = useLive((s) => s.newAlertIds);
  const canAck = useAuth((s) => roleAllows(s.session?.role, "trader"));
  const client = useQueryClient();
  const ack = useMutation({
    mutationFn: (id: number) => api<AlertRow>(`/alerts/${id}/ack`, { method: "POST" }),
    onSuccess: (row) =>
      client.setQueryData<AlertRow[]>(["alerts"], (old) => old?.map((a) => (a.id === row.id ? row : a))),
  });

  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>Alerts</Typography>
      {isPending && <LinearProgress />}
      {error && <Alert severity="error">{error.message}</Alert>}
      {ack.error && <Alert severity="error">{ack.error.message}</Alert>}
      {data && data.length === 0 && <Typography color="text.secondary">No alerts.</Typography>}
      <Paper variant="outlined">
        <List dense aria-label="alerts" data-testid="alert-list">
          {(data ?? []).map((a) => (
            <ListItem
              key={a.id}
              divider
              data-testid="alert-item"
              data-alert-id={a.id}
              sx={{ bgcolor: fresh.includes(a.id) ? "action.selected" : undefined, flexWrap: "wrap", gap: 1 }}
              secondaryAction={
                a.acknowledged_at ? (
                  <Typography variant="caption" color="text.secondary" data-testid="acked">
                    acknowledged by {a.acknowledged_by}
                  </Typography>
                ) : canAck ? (
                  <Button size="small" variant="outlined" onClick={() => ack.mutate(a.id)} disabled={ack.isPending}>
                    Acknowledge
                  </Button>
                ) : null
              }
            >
              <Chip size="small" label={a.severity} color={SEVERITY_COLOR[a.severity as keyof typeof SEVERITY_COLOR] ?? "default"} />
              <ListItemText
                primary={a.title}
                secondary={`${fmtDateTime(a.created_at)} · ${a.kind}${a.symbol ? ` · ${a.symbol}` : ""} — ${a.message}`}
                sx={{ pr: 18 }}
              />
            </ListItem>
          ))}
        </List>
      </Paper>
      <Subscriptions />
    </Box>
  );
}
