// The Runs page (`/runs`): every run of every workload, newest first, filtered
// through the URL, with live states and the timings of each run.
import { test, expect, waitForHydration, allowHttpErrors, brokenTexts } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

test("every run is listed newest first, filtered by state, workload and day", async ({ page, request }) => {
  const table = await textTable(request, "runs", "t", "one two two\n");
  const a = await wordcount(request, "runs", table, "Runs list A");
  const b = await wordcount(request, "runs", table, "Runs list B");
  await ended(request, a.last_run.id);
  const bRun = await ended(request, b.last_run.id);

  // From the Dashboard's recent runs.
  await page.goto("/");
  await waitForHydration(page);
  await page.getByTestId("all-runs").click();
  await expect(page).toHaveURL(/\/runs$/);
  const rows = page.getByTestId("runs-row");
  await expect(rows.first()).toHaveAttribute("data-run", String(bRun.id));
  await expect(rows.first()).toContainText("Runs list B");
  await expect(rows.first().getByTestId("runs-row-status")).toContainText("Succeeded");
  expect(await brokenTexts(page.locator("table.data td:not(.text), table.data th, .badge"))).toEqual([]);

  // One workload's runs, from its page.
  await page.goto(`/workloads/${a.id}`);
  await waitForHydration(page);
  await page.getByTestId("workload-all-runs").click();
  await expect(page).toHaveURL(new RegExp(`/runs\\?workload_id=${a.id}$`));
  await expect(rows).toHaveCount(1);
  await expect(page.getByTestId("runs-count")).toHaveText("1 run");
  await expect(rows.first()).toContainText("Runs list A");

  // By state and day, through the filter form, whose controls line up.
  const filters = page.getByTestId("run-filters");
  const heights = await filters.locator("input, select, button").evaluateAll((els) =>
    els.map((el) => Math.round(el.getBoundingClientRect().height)),
  );
  expect(new Set(heights).size, `the filter controls' heights: ${heights}`).toBe(1);
  await filters.getByLabel("Workload id").fill("");
  await filters.getByLabel("State").selectOption("failed");
  await filters.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/state=failed/);
  // The succeeded runs leave the list; whatever stays (other tests' runs) failed.
  await expect(rows.filter({ hasText: "Runs list" })).toHaveCount(0);
  for (const status of await rows.getByTestId("runs-row-status").allInnerTexts()) expect(status).toContain("Failed");
  const day = bRun.queued_at.slice(0, 10);
  await page.goto(`/runs?since=${day}&until=${day}&workload_id=${b.id}`);
  await expect(rows).toHaveCount(1);
  await page.goto(`/runs?until=2000-01-01`);
  await expect(page.getByTestId("runs-empty")).toContainText("No run matches");
});

test("a bad filter is named next to its field", async ({ page, problems }) => {
  allowHttpErrors(problems, "/runs", "/api/fn/runs/search");
  await page.goto("/runs?since=2026-02-30&workload_id=abc");
  await expect(page.getByTestId("runs-since-error")).toContainText("YYYY-MM-DD");
  await expect(page.getByTestId("runs-workload-error")).toContainText("workload id");
  await expect(page.getByTestId("run-filters").getByLabel("Workload id")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("runs-until-error")).toBeHidden();
});

test("a run's state moves on the list as it runs", async ({ page, request }) => {
  // About 6 MB, read at the test server's 1 MiB/s: several seconds of
  // running, so the list (reloaded at most once a second) shows it in flight.
  const table = await textTable(request, "runs", "live", "one two three four five six seven eight\n".repeat(150_000));
  await page.goto("/runs");
  await waitForHydration(page);
  const w = await wordcount(request, "runs", table, "Runs list live");
  const row = page.locator(`[data-testid="runs-row"][data-run="${w.last_run.id}"]`);
  await expect(row.getByTestId("runs-row-status")).toContainText(/Queued|Running/);
  await ended(request, w.last_run.id);
  await expect(row.getByTestId("runs-row-status")).toContainText("Succeeded");
  await expect(row.getByTestId("run-time")).not.toHaveText("–");
});
