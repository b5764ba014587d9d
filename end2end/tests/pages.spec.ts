// Every page at a desktop width and a phone width, in light and dark: none
// scrolls sideways, no id, number, timestamp or badge breaks over lines, and a
// screenshot of each is saved under end2end/artifacts/ to be looked at.
import { test, expect, waitForHydration, brokenTexts, snapshot } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

const viewports = [["1280", { width: 1280, height: 800 }], ["390", { width: 390, height: 844 }]] as const;

test("every page lays out at 1280 px and 390 px, light and dark", async ({ page, request }) => {
  test.setTimeout(120_000);
  const table = await textTable(request, "pages", "corpus", "to be or not to be that is the question\n".repeat(200));
  const w = await wordcount(request, "pages", table, "Every page");
  const run = await ended(request, w.last_run.id);
  const pages: [string, string][] = [
    ["dashboard", "/"],
    ["workloads", "/workloads"],
    ["workload-new", "/workloads/new"],
    ["workload", `/workloads/${w.id}`],
    ["workload-edit", `/workloads/${w.id}/edit`],
    ["runs", "/runs"],
    ["run", `/runs/${run.id}`],
    ["datasets", "/datasets"],
    ["table", `/datasets/e2e/pages/${table}`],
  ];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [size, viewport] of viewports) {
      await page.setViewportSize(viewport);
      for (const [name, path] of pages) {
        await page.goto(path);
        await waitForHydration(page);
        const where = `${name} at ${size} px, ${scheme}`;
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${where}: no sideways scroll`).toBe(true);
        expect(await brokenTexts(page.locator("table.data td:not(.text), table.data th, .badge")), where).toEqual([]);
        await snapshot(page, `page-${name}-${size}${scheme === "dark" ? "-dark" : ""}`);
      }
    }
  }
});
