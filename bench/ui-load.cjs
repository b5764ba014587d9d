// Time to first byte and to hydration of the Workloads page, with 100 and then
// 10 000 workloads stored, in Debian's Chromium (see bench/ui-load.sh).
const path = require("node:path");
const { chromium } = require(path.resolve(__dirname, "../end2end/node_modules/playwright-core"));

const base = process.argv[2];
const browserPath = process.env.TALLY_CHROMIUM || "/usr/bin/chromium";
const LOADS = 7;

async function post(url, body) {
  const res = await fetch(base + url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${url}: HTTP ${res.status}: ${await res.text()}`);
}

async function createWorkloads(from, to) {
  let next = from;
  const worker = async () => {
    while (next <= to) {
      const i = next++;
      await post("/api/v1/workloads", {
        workload_type: "wordcount", name: `ui load ${String(i).padStart(5, "0")}`,
        src_project: "bench", src_dataset: "ui", src_table: "words", src_column_name: "line",
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function activeRuns() {
  let n = 0;
  for (const status of ["queued", "running"]) {
    const res = await fetch(`${base}/api/v1/workloads?status=${status}&limit=1`);
    n += Number(res.headers.get("x-total-count"));
  }
  return n;
}

/** Waits until the dispatcher has run every queued run, so that it does not share the CPU with the page. */
async function drain() {
  const start = Date.now();
  while ((await activeRuns()) > 0) await new Promise((r) => setTimeout(r, 500));
  return (Date.now() - start) / 1000;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(browser) {
  const ttfb = [], hydrated = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Notes the moment the frontend marks <body> as hydrated.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.body?.dataset.hydrated === "true") {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
    });
    await page.goto(`${base}/workloads`);
    await page.waitForSelector('body[data-hydrated="true"]');
    const t = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { ttfb: nav.responseStart - nav.startTime, hydrated: window.__hydratedAt };
    });
    // The first load warms caches (the server's and the browser's compile of the WASM); it is not counted.
    if (i > 0) { ttfb.push(t.ttfb); hydrated.push(t.hydrated); }
    await context.close();
  }
  return { ttfb: median(ttfb), hydrated: median(hydrated) };
}

(async () => {
  const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--disable-gpu"] });
  const rows = [];
  let created = 0;
  for (const target of [100, 10000]) {
    const t0 = Date.now();
    await createWorkloads(created + 1, target);
    const createSecs = (Date.now() - t0) / 1000;
    const drainSecs = await drain();
    created = target;
    const m = await measure(browser);
    rows.push({ target, ...m });
    console.log(`${String(target).padStart(6)} workloads stored (created in ${createSecs.toFixed(1)} s, runs drained in ${drainSecs.toFixed(1)} s): ` +
      `TTFB ${m.ttfb.toFixed(1)} ms, hydrated at ${m.hydrated.toFixed(0)} ms (medians of ${LOADS - 1} loads)`);
  }
  await browser.close();
  const [small, large] = rows;
  console.log(`10 000 / 100 stored: TTFB ${(large.ttfb / small.ttfb).toFixed(2)}x, hydration ${(large.hydrated / small.hydrated).toFixed(2)}x (flat = server-side pagination works)`);
})().catch((e) => { console.error(e); process.exit(1); });
