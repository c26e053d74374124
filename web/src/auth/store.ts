// The session: access token in memory only (never localStorage); the refresh token lives in the
// API's httpOnly cookie (path /auth), so a page reload restores the session via /auth/refresh.
import { create } from "zustand";

export type Role = "viewer" | "trader" | "admin";

export interface Session {
  accessToken: string;
  role: Role;
  username: string;
  expiresAt: number; // epoch ms
}

export type AuthStatus = "unknown" | "anonymous" | "authenticated";

interface AuthState {
  status: AuthStatus;
  session: Session | null;
  setSession: (session: Session | null) => void;
}

export const useAuth = create<AuthState>((set) => ({
  status: "unknown",
  session: null,
  setSession: (session) => set({ session, status: session ? "authenticated" : "anonymous" }),
}));

const RANK: Record<Role, number> = { viewer: 0, trader: 1, admin: 2 };

/** Roles nest as in the API: viewer < trader < admin. */
export function roleAllows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
