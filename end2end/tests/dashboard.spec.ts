// The Dashboard's runs in flight: a run that ends leaves the list at once,
// never shown there as finished (it used to stay for seconds, "Succeeded" with
// its bar half full, while the Workloads card already counted it succeeded).
import { test, expect, waitForHydration } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

test("a run that ends leaves the runs in flight at once", async ({ page, request }) => {
  const table = await textTable(request, "dash", "t", "one two three four five six seven eight\n".repeat(100_000));
  await page.goto("/");
  await waitForHydration(page);
  // Every 20 ms, note any run in the list whose state is no longer in flight.
  await page.evaluate(() => {
    const w = window as any;
    w.finishedInFlight = [];
    setInterval(() => {
      for (const el of document.querySelectorAll('[data-testid="in-flight-run"] [data-testid="run-progress"]')) {
        const state = el.getAttribute("data-state");
        if (state !== "queued" && state !== "running") w.finishedInFlight.push(state);
      }
    }, 20);
  });
  const w = await wordcount(request, "dash", table, "Dashboard watched");
  const mine = page.getByTestId("in-flight-run").filter({ hasText: "Dashboard watched" });
  await expect(mine).toHaveCount(1);
  await ended(request, w.last_run.id);
  await expect(mine).toHaveCount(0);
  await expect(page.getByTestId("recent-run").first()).toContainText("Dashboard watched");
  await page.waitForTimeout(1000);
  expect(await page.evaluate(() => (window as any).finishedInFlight)).toEqual([]);
});
