/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API serves dist/ (api/web.py): hashed bundles under /assets, client routes under /app.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        manualChunks: {
          react: ["react", "react-dom", "react-router-dom"],
          mui: ["@mui/material"],
        },
      },
    },
  },
  server: {
    // `npm run dev` against a running `wheelflow api` on :8000
    proxy: {
      "^/(auth|rankings|chains|positions|pnl|wheel-cycles|risk|alerts|watchlist|runs|users|api-keys|me|schema|health|ready)":
        "http://127.0.0.1:8000",
      "/live": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
