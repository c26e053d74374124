import type { ReactNode } from "react";
import Alert from "@mui/material/Alert";
import { roleAllows, useAuth, type Role } from "../auth/store";

/** Renders its screen only for roles that include `role` (the API enforces the same). */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const current = useAuth((s) => s.session?.role);
  if (!roleAllows(current, role)) {
    return (
      <Alert severity="warning" data-testid="forbidden">
        This screen needs the {role} role; you are signed in as {current ?? "nobody"}.
      </Alert>
    );
  }
  return <>{children}</>;
}
