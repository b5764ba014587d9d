// Playwright drives Tally's real UI in Debian's Chromium (never a downloaded build).
// The server under test is the binary named by TALLY_BIN (the test command sets it
// to the release binary), started on a free loopback port with a fresh temporary
// data directory.
import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const port = Number(process.env.TALLY_E2E_PORT ?? 3900);
const baseURL = `http://127.0.0.1:${port}`;
const bin = process.env.TALLY_BIN ?? path.resolve(__dirname, "../target/release/tally");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-"));
const chromium = process.env.TALLY_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    },
  },
  webServer: {
    // Only warnings and errors from the server under test reach the test output.
    // Runs read at most 1 MiB/s: the release binary counts the cancel test's
    // 15 MB table in a fraction of a second, too soon to watch it or cancel it.
    // The other tests' tables are a few kilobytes, read in one batch at once.
    command: `"${bin}" serve --log-level warn --run-read-rate 1MB --addr 127.0.0.1:${port} --data-dir "${dataDir}"`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
