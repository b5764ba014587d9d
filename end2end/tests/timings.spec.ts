// Where a run's time went, shown the same everywhere: its wait in the queue and
// its own run time, never one sum (a 0.4 s count that waited 3 s is not a 3.4 s
// run). Tally runs one run at a time here, so a run queued behind a slow one
// waits for it.
import { test, expect, waitForHydration, seconds } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

test("queue wait and run time are shown apart, as the API has them", async ({ page, request }) => {
  // About 2 MB, read at the test server's 1 MiB/s: the run ahead takes ~2 s.
  const slow = await textTable(request, "timing", "slow", "one two three four five six seven eight\n".repeat(50_000));
  const quick = await textTable(request, "timing", "quick", "one two\n");
  const ahead = await wordcount(request, "timing", slow, "Timing ahead");
  const behind = await wordcount(request, "timing", quick, "Timing behind");
  await ended(request, ahead.last_run.id);
  const run = await ended(request, behind.last_run.id);
  const waited = run.waited_secs;
  const ran = run.timings.total_secs - run.timings.queue_secs;
  expect(waited, "it waited for the run ahead").toBeGreaterThan(1);
  expect(ran).toBeLessThan(waited);

  // The workload's runs.
  await page.goto(`/workloads/${behind.id}`);
  await waitForHydration(page);
  const row = page.getByTestId("run-row").first();
  expect(seconds(await row.getByTestId("run-waited").innerText())).toBeCloseTo(waited, 1);
  expect(seconds(await row.getByTestId("run-time").innerText())).toBeCloseTo(ran, 1);
  await expect(page.getByTestId("run-summary")).toContainText(/in [\d.]+ m?s \(waited [\d.]+ s to start\)/);

  // The run's page.
  await page.goto(`/runs/${run.id}`);
  await waitForHydration(page);
  expect(seconds(await page.getByTestId("run-options").getByTestId("run-time").innerText())).toBeCloseTo(ran, 1);
  expect(seconds(await page.getByTestId("run-options").getByTestId("run-waited").innerText())).toBeCloseTo(waited, 1);

  // The workloads list.
  await page.goto("/workloads?q=Timing+behind");
  const last = page.getByTestId("workload-row").first().locator("td").nth(5);
  const [, ranText, waitedText] = (await last.innerText()).match(/ran (.+?) · waited (.+?) ·/)!;
  expect(seconds(ranText)).toBeCloseTo(ran, 1);
  expect(seconds(waitedText)).toBeCloseTo(waited, 1);

  // The Dashboard's recent runs.
  await page.goto("/");
  await waitForHydration(page);
  const recent = page.getByTestId("recent-run").filter({ hasText: "Timing behind" });
  expect(seconds(await recent.getByTestId("run-waited").innerText())).toBeCloseTo(waited, 1);
  expect(seconds(await recent.getByTestId("run-time").innerText())).toBeCloseTo(ran, 1);
});

test("a run's words per second is one figure on every page", async ({ page, request }) => {
  const table = await textTable(request, "timing", "rate", "one two three four five six seven eight\n".repeat(50_000));
  const w = await wordcount(request, "timing", table, "Timing rate");
  const run = await ended(request, w.last_run.id);
  const shownRate = /([\d.]+(?: [kM])?) words\/s/;

  await page.goto(`/runs/${run.id}`);
  await waitForHydration(page);
  const onRunPage = (await page.getByTestId("run-progress").innerText()).match(shownRate)?.[1];
  expect(onRunPage, "the Run page shows a rate").toBeTruthy();

  await page.goto(`/workloads/${w.id}`);
  await waitForHydration(page);
  expect((await page.getByTestId("run-progress").innerText()).match(shownRate)?.[1]).toBe(onRunPage);

  await page.goto(`/runs?workload_id=${w.id}`);
  await expect(page.getByTestId("runs-row").first().getByTestId("run-rate")).toHaveText(onRunPage!);

  await page.goto("/");
  await waitForHydration(page);
  const recent = page.getByTestId("recent-run").filter({ hasText: "Timing rate" });
  await expect(recent.getByTestId("run-rate")).toHaveText(onRunPage!);
});

test("a running run says when it started, not only when it was queued", async ({ page, request }) => {
  const slow = await textTable(request, "timing", "running", "one two three four five six seven eight\n".repeat(400_000));
  const w = await wordcount(request, "timing", slow, "Timing running");
  await page.goto(`/workloads/${w.id}`);
  await waitForHydration(page);
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "running");
  await expect(page.getByTestId("run-summary")).toContainText(/Started \d{4}-\d\d-\d\d [\d:]+ UTC after waiting/);
  await page.getByTestId("cancel-run").click();
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "cancelled");
});
