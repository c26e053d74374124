import { lazy, Suspense, useEffect, useMemo } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import CssBaseline from "@mui/material/CssBaseline";
import LinearProgress from "@mui/material/LinearProgress";
import { ThemeProvider, createTheme } from "@mui/material/styles";
import { useUi } from "./ui";
import { useAuth, type Role } from "./auth/store";
import { refresh } from "./auth/client";
import { ApiError } from "./auth/client";
import { Shell } from "./components/Shell";
import { RequireRole } from "./components/RequireRole";
import { LoginScreen } from "./screens/Login";
import { OpportunitiesScreen } from "./screens/Opportunities";

// Chart-heavy and admin screens load on demand: the first page needs none of their code.
const ChainScreen = lazy(() => import("./screens/Chain"));
const PositionsScreen = lazy(() => import("./screens/Positions"));
const RiskScreen = lazy(() => import("./screens/Risk"));
const AlertsScreen = lazy(() => import("./screens/Alerts"));
const RunsScreen = lazy(() => import("./screens/Runs"));
const AdminScreen = lazy(() => import("./screens/Admin"));

export interface ScreenDef {
  path: string;
  label: string;
  role: Role;
}

export const SCREENS: ScreenDef[] = [
  { path: "opportunities", label: "Opportunities", role: "viewer" },
  { path: "chains", label: "Chain explorer", role: "viewer" },
  { path: "positions", label: "Positions & cycles", role: "trader" },
  { path: "risk", label: "Risk", role: "viewer" },
  { path: "alerts", label: "Alerts", role: "viewer" },
  { path: "runs", label: "Runs", role: "viewer" },
  { path: "admin", label: "Admin", role: "admin" },
];

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      retry: (count, error) =>
        !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

export function App() {
  const mode = useUi((s) => s.mode);
  const status = useAuth((s) => s.status);
  const theme = useMemo(
    () =>
      createTheme({
        palette: { mode },
        typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
      }),
    [mode],
  );
  useEffect(() => {
    if (useAuth.getState().status === "unknown") void refresh(); // the refresh cookie, if any
  }, []);

  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <QueryClientProvider client={queryClient}>
        {status === "unknown" ? (
          <LinearProgress aria-label="restoring session" />
        ) : (
          <BrowserRouter>
            <Routes>
              <Route path="/" element={<Navigate to="/app/opportunities" replace />} />
              <Route path="/app/login" element={<LoginScreen />} />
              <Route path="/app" element={<Shell screens={SCREENS} />}>
                <Route index element={<Navigate to="opportunities" replace />} />
                <Route path="opportunities" element={<OpportunitiesScreen />} />
                {(
                  [
                    ["chains/:symbol?", ChainScreen, "viewer"],
                    ["positions", PositionsScreen, "trader"],
                    ["risk", RiskScreen, "viewer"],
                    ["alerts", AlertsScreen, "viewer"],
                    ["runs", RunsScreen, "viewer"],
                    ["admin", AdminScreen, "admin"],
                  ] as const
                ).map(([path, Screen, role]) => (
                  <Route
                    key={path}
                    path={path}
                    element={
                      <RequireRole role={role}>
                        <Suspense fallback={<LinearProgress />}>
                          <Screen />
                        </Suspense>
                      </RequireRole>
                    }
                  />
                ))}
                <Route path="*" element={<Navigate to="opportunities" replace />} />
              </Route>
              <Route path="*" element={<Navigate to="/app/opportunities" replace />} />
            </Routes>
          </BrowserRouter>
        )}
      </QueryClientProvider>
    </ThemeProvider>
  );
}
