import { useState } from "react";
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from "react-router-dom";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Drawer from "@mui/material/Drawer";
import IconButton from "@mui/material/IconButton";
import List from "@mui/material/List";
import ListItemButton from "@mui/material/ListItemButton";
import ListItemText from "@mui/material/ListItemText";
import Toolbar from "@mui/material/Toolbar";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import type { ScreenDef } from "../App";
import { roleAllows, useAuth } from "../auth/store";
import { logout } from "../auth/client";
import { useLive, useLiveUpdates } from "../live";
import { useUi } from "../ui";

const DRAWER = 210;

export function Shell({ screens }: { screens: ScreenDef[] }) {
  const session = useAuth((s) => s.session);
  const location = useLocation();
  const navigate = useNavigate();
  const theme = useTheme();
  const wide = useMediaQuery(theme.breakpoints.up("md"));
  const [open, setOpen] = useState(false);
  const { mode, toggleMode } = useUi();
  const live = useLive((s) => s.status);
  useLiveUpdates();

  if (!session) {
    return <Navigate to={`/app/login?next=${encodeURIComponent(location.pathname)}`} replace />;
  }
  const allowed = screens.filter((s) => roleAllows(session.role, s.role));
  const nav = (
    <nav aria-label="screens">
      <List>
        {allowed.map((s) => (
          <ListItemButton
            key={s.path}
            component={NavLink}
            to={`/app/${s.path}`}
            onClick={() => setOpen(false)}
            sx={{ "&.active": { bgcolor: "action.selected", fontWeight: 600 } }}
          >
            <ListItemText primary={s.label} />
          </ListItemButton>
        ))}
      </List>
    </nav>
  );

  return (
    <Box sx={{ display: "flex", minHeight: "100vh" }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar variant="dense" sx={{ gap: 1 }}>
          {!wide && (
            <IconButton
              color="inherit"
              edge="start"
              aria-label="open navigation"
              onClick={() => setOpen(true)}
            >
              ☰
            </IconButton>
          )}
          <Typography variant="h6" component="div" sx={{ flexGrow: 1, fontSize: 18 }}>
            wheelflow
          </Typography>
          <Tooltip title="Live updates from the API">
            <Chip
              size="small"
              data-testid="live-status"
              label={live}
              color={live === "live" ? "success" : live === "connecting" ? "warning" : "default"}
              sx={{ color: "inherit" }}
            />
          </Tooltip>
          <Button color="inherit" onClick={toggleMode} aria-label="toggle dark theme">
            {mode === "dark" ? "Light" : "Dark"}
          </Button>
          {wide && (
            <Typography variant="body2" data-testid="whoami">
              {session.username} · {session.role}
            </Typography>
          )}
          <Button
            color="inherit"
            onClick={async () => {
              await logout();
              navigate("/app/login", { replace: true });
            }}
          >
            Log out
          </Button>
        </Toolbar>
      </AppBar>
      <Drawer
        variant={wide ? "permanent" : "temporary"}
        open={wide || open}
        onClose={() => setOpen(false)}
        sx={{ width: DRAWER, flexShrink: 0, "& .MuiDrawer-paper": { width: DRAWER } }}
      >
        <Toolbar variant="dense" />
        {nav}
      </Drawer>
      <Box component="main" sx={{ flexGrow: 1, p: { xs: 1, sm: 2 }, minWidth: 0 }}>
        <Toolbar variant="dense" />
        <Outlet />
      </Box>
    </Box>
  );
}
