// Client-only preferences (no secrets): the colour theme, remembered across visits.
import { create } from "zustand";
import { persist } from "zustand/middleware";

export type ThemeMode = "light" | "dark";

interface UiState {
  mode: ThemeMode;
  toggleMode: () => void;
}

const prefersDark =
  typeof window !== "undefined" && window.matchMedia?.("(prefers-color-scheme: dark)").matches;

export const useUi = create<UiState>()(
  persist(
    (set) => ({
      mode: prefersDark ? "dark" : "light",
      toggleMode: () => set((s) => ({ mode: s.mode === "dark" ? "light" : "dark" })),
    }),
    { name: "wheelflow-ui" },
  ),
);
