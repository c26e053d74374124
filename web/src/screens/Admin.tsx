import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Switch from "@mui/material/Switch";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import type { ApiKey, ApiKeyCreated, User } from "../api/types";
import { api } from "../auth/client";
import { fmtDateTime } from "../format";

const ROLES = ["viewer", "trader", "admin"];

function Users() {
  const client = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: () => api<User[]>("/users") });
  const [form, setForm] = useState({ username: "", password: "", role: "viewer" });
  const create = useMutation({
    mutationFn: () => api<User>("/users", { method: "POST", body: JSON.stringify(form) }),
    onSuccess: () => {
      setForm({ username: "", password: "", role: "viewer" });
      return client.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const toggle = useMutation({
    mutationFn: (u: User) => api<User>(`/users/${u.id}`, { method: "PATCH", body: JSON.stringify({ active: !u.active }) }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["users"] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Paper variant="outlined" sx={{ p: 1 }}>
      <Typography variant="h6" component="h2">Users</Typography>
      {(users.error || create.error || toggle.error) && (
        <Alert severity="error">{(users.error ?? create.error ?? toggle.error)?.message}</Alert>
      )}
      <Table size="small" aria-label="users">
        <TableHead><TableRow><TableCell>User</TableCell><TableCell>Role</TableCell><TableCell>Last login</TableCell><TableCell align="right">Active</TableCell></TableRow></TableHead>
        <TableBody>
          {(users.data ?? []).map((u) => (
            <TableRow key={u.id}>
              <TableCell>{u.username}</TableCell>
              <TableCell>{u.role}</TableCell>
              <TableCell>{fmtDateTime(u.last_login_at)}</TableCell>
              <TableCell align="right"><Switch checked={u.active} onChange={() => toggle.mutate(u)} inputProps={{ "aria-label": `${u.username} active` }} /></TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <Stack component="form" onSubmit={submit} direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ mt: 1 }}>
        <TextField size="small" label="New username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required />
        <TextField size="small" label="Password" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required />
        <TextField size="small" select label="Role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })} sx={{ width: 120 }}>
          {ROLES.map((r) => <MenuItem key={r} value={r}>{r}</MenuItem>)}
        </TextField>
        <Button type="submit" variant="contained" disabled={create.isPending}>Create user</Button>
      </Stack>
    </Paper>
  );
}

function ApiKeys() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => api<ApiKey[]>("/api-keys") });
  const [form, setForm] = useState({ name: "", role: "viewer" });
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const create = useMutation({
    mutationFn: () => api<ApiKeyCreated>("/api-keys", { method: "POST", body: JSON.stringify(form) }),
    onSuccess: (key) => {
      setCreated(key);
      setForm({ name: "", role: "viewer" });
      return client.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => api<void>(`/api-keys/${id}`, { method: "DELETE" }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  return (
    <Paper variant="outlined" sx={{ p: 1 }}>
      <Typography variant="h6" component="h2">API keys</Typography>
      {(keys.error || create.error || revoke.error) && (
        <Alert severity="error">{(keys.error ?? create.error ?? revoke.error)?.message}</Alert>
      )}
      {created && (
        <Alert severity="success" onClose={() => setCreated(null)}>
          Key “{created.name}” (shown once, store it now): <code>{created.key}</code>
        </Alert>
      )}
      <Table size="small" aria-label="API keys">
        <TableHead><TableRow><TableCell>Name</TableCell><TableCell>Prefix</TableCell><TableCell>Role</TableCell><TableCell>Last used</TableCell><TableCell align="right" /></TableRow></TableHead>
        <TableBody>
          {(keys.data ?? []).map((k) => (
            <TableRow key={k.id}>
              <TableCell>{k.name}</TableCell>
              <TableCell><code>{k.prefix}</code></TableCell>
              <TableCell>{k.role}</TableCell>
              <TableCell>{fmtDateTime(k.last_used_at)}</TableCell>
              <TableCell align="right">
                {k.revoked_at ? `revoked ${fmtDateTime(k.revoked_at)}` : <Button size="small" color="error" onClick={() => revoke.mutate(k.id)}>Revoke</Button>}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <Stack component="form" onSubmit={(e) => { e.preventDefault(); create.mutate(); }} direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ mt: 1 }}>
        <TextField size="small" label="Key name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        <TextField size="small" select label="Role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })} sx={{ width: 120 }}>
          {ROLES.map((r) => <MenuItem key={r} value={r}>{r}</MenuItem>)}
        </TextField>
        <Button type="submit" variant="contained" disabled={create.isPending}>Create key</Button>
      </Stack>
    </Paper>
  );
}

export default function AdminScreen() {
  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>Admin</Typography>
      <Stack spacing={2}><Users /><ApiKeys /></Stack>
    </Box>
  );
}
