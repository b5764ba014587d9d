// A `test` whose every page fails the test on a browser console error, an uncaught
// exception, a failed request or an HTTP error answer, unless the test declares
// that answer expected with `allowHttpErrors`.
import { test as base, expect, type Locator, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

type Problems = { list: string[]; allowHttp: Set<string>; allowFailed: Set<string> };

export const test = base.extend<{ problems: Problems; page: Page }>({
  problems: async ({}, use) => {
    await use({ list: [], allowHttp: new Set(), allowFailed: new Set() });
  },
  page: async ({ page, problems, javaScriptEnabled }, use) => {
    page.on("console", (msg) => {
      if (msg.type() !== "error" && msg.type() !== "warning") return;
      // The browser logs every HTTP error answer; an expected one is not a problem.
      const source = msg.location().url;
      if (msg.text().startsWith("Failed to load resource") && source && problems.allowHttp.has(new URL(source).pathname)) {
        return;
      }
      // Chromium warns when a preloaded resource is used late; on a loaded CI
      // machine that is timing, not a defect of the page.
      if (msg.type() === "warning" && msg.text().includes("was preloaded using link preload but not used")) {
        return;
      }
      problems.list.push(`console ${msg.type()} on ${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.list.push(`page error on ${page.url()}: ${err.message}`));
    page.on("requestfailed", (req) => {
      const reason = req.failure()?.errorText;
      // With JavaScript disabled, Chromium refuses the module preloads of the
      // hydration bundle and reports them as blocked by "csp": expected.
      if (reason === "csp" && !javaScriptEnabled) return;
      const url = new URL(req.url());
      if (problems.allowFailed.has(url.pathname)) return;
      // Leaving a page aborts what it was still loading: its live event stream,
      // and without JavaScript the hydration bundle it will never run.
      if (reason === "net::ERR_ABORTED" && (url.pathname === "/api/v1/events" || (!javaScriptEnabled && url.pathname.startsWith("/pkg/")))) return;
      problems.list.push(`request failed: ${req.method()} ${req.url()} (${reason})`);
    });
    page.on("response", (res) => {
      const url = new URL(res.url());
      if (res.status() >= 400 && !problems.allowHttp.has(url.pathname)) {
        problems.list.push(`HTTP ${res.status()}: ${res.request().method()} ${url.pathname}`);
      }
    });
    await use(page);
    expect(problems.list, "browser problems during the test").toEqual([]);
  },
});

export { expect };

/** Declares that requests to `pathname` failing (no answer at all) is what the test expects. */
export function allowFailedRequests(problems: Problems, ...pathnames: string[]) {
  for (const p of pathnames) {
    problems.allowFailed.add(p);
    // Chromium logs the failure on the console too.
    problems.allowHttp.add(p);
  }
}

/** Declares that an HTTP error answer for `pathname` is what the test expects. */
export function allowHttpErrors(problems: Problems, ...pathnames: string[]) {
  for (const p of pathnames) problems.allowHttp.add(p);
}

/** Waits until the WASM bundle has hydrated the page (the frontend marks <body>). */
export async function waitForHydration(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** The texts among `locator`'s elements that the layout broke over more than
 *  one line (a text node with more than one line box), e.g. "1" / "1" for 11. */
export async function brokenTexts(locator: Locator): Promise<string[]> {
  return locator.evaluateAll((elements) => {
    const broken: string[] = [];
    for (const element of elements) {
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent?.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(node.textContent.trim());
      }
    }
    return broken;
  });
}

/** Seconds from a duration as the UI writes it: "420 ms", "2.4 s", "1 min 15 s". */
export function seconds(text: string): number {
  const t = text.trim();
  let m = t.match(/^(\d+) ms$/);
  if (m) return Number(m[1]) / 1000;
  m = t.match(/^([\d.]+) s$/);
  if (m) return Number(m[1]);
  m = t.match(/^(\d+) min (\d+) s$/);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  throw new Error(`not a duration: "${text}"`);
}

/** Saves a full-page screenshot under end2end/artifacts/ for humans to look at. */
export async function snapshot(page: Page, name: string) {
  const dir = path.resolve(__dirname, "../artifacts");
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** A Tally of a test's own: the binary under test on a free loopback port with
 *  a fresh data directory and `args`; its log is kept (the setup link is in it). */
export async function startTally(args: string[]): Promise<{ url: string; log: string[]; stop: () => void }> {
  const { spawn } = await import("node:child_process");
  const os = await import("node:os");
  const bin = process.env.TALLY_BIN ?? path.resolve(__dirname, "../../target/release/tally");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-own-"));
  const child = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error(`tally did not start:\n${log.join("\n")}`)), 60_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        log.push(line);
        const found = line.match(/listening on (http:\/\/[0-9.:]+)/);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`tally exited (${code}):\n${log.join("\n")}`)));
  });
  return { url, log, stop: () => child.kill("SIGTERM") };
}
