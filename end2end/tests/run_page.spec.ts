// The Run page (`/runs/N`) while its run changes state: watched to the end,
// and cancelled from the page itself. Both must end with the final state
// everywhere on the page and no console error (the fixture fails the test on
// one): the page used to panic in the WASM when the run it showed changed
// state, and freeze half-updated.
import { test, expect, waitForHydration, allowFailedRequests } from "./fixtures";
import { ended, textTable, wordcount } from "./seed";

// "lorem" twice a line: the top word of every count below.
const line = "lorem lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n";

/** A new table of `lines` lines and a workload on it; answers the id of the
 *  run its create queued. */
async function queuedRun(request: any, name: string, lines: number): Promise<number> {
  const table = await textTable(request, "runpage", "t", line.repeat(lines));
  const workload = await wordcount(request, "runpage", table, name, { tokenizer: "words" });
  return workload.last_run.id;
}

test("a run's page follows the run to its end", async ({ page, request }) => {
  // About 12 MB, read at the test server's 1 MiB/s: long enough to be seen
  // under way after the page has loaded and hydrated, even on a loaded machine.
  const runId = await queuedRun(request, "Watched run", 150_000);
  await page.goto(`/runs/${runId}`);
  await waitForHydration(page);
  const progress = page.getByTestId("run-progress");
  expect(await progress.getAttribute("data-state"), "still under way when the page is ready").not.toBe("succeeded");
  // The breadcrumbs name the workload, and lead to it.
  await expect(page.getByTestId("run-workload")).toHaveText("Watched run");
  await expect(page.getByTestId("run-workload")).toHaveAttribute("href", /^\/workloads\/\d+$/);

  await expect(progress).toHaveAttribute("data-state", "succeeded", { timeout: 60_000 });
  const run = await (await request.get(`/api/v1/runs/${runId}`)).json();
  expect(run.state).toBe("succeeded");
  await expect(page.locator(".page-header .badge")).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("cancel-run")).toHaveCount(0);
  const facts = page.getByTestId("run-facts");
  await expect(facts).toContainText(run.total_words.toLocaleString("en-US"));
  await expect(facts.locator("dt:text-is('Finished') + dd")).not.toHaveText("–");
  await expect(page.getByTestId("run-total-time")).not.toBeEmpty();
  const top = page.getByTestId("result-row").first();
  await expect(top).toContainText("lorem");
  await expect(top).toContainText((2 * 150_000).toLocaleString("en-US"));
});

test("a run cancelled from its own page shows cancelled everywhere", async ({ page, request }) => {
  // About 15 MB: long enough to cancel while it runs.
  const runId = await queuedRun(request, "Cancelled run", 200_000);
  await page.goto(`/runs/${runId}`);
  await waitForHydration(page);
  const progress = page.getByTestId("run-progress");
  await expect(progress).toHaveAttribute("data-state", "running");
  await page.getByTestId("cancel-run").click();

  await expect(progress).toHaveAttribute("data-state", "cancelled");
  await expect(page.locator(".page-header .badge")).toHaveAttribute("data-status", "cancelled");
  await expect(page.getByTestId("cancel-run")).toHaveCount(0);
  await expect(progress).not.toContainText("left");
  await expect(page.getByTestId("run-facts").locator("dt:text-is('Finished') + dd")).not.toHaveText("–");
  const run = await (await request.get(`/api/v1/runs/${runId}`)).json();
  expect(run.state).toBe("cancelled");
});

test("a running run's log grows on its page, to the millisecond; Run again follows the new run", async ({ page, request }) => {
  // About 12 MB (see above): still running when its first log line is shown.
  const runId = await queuedRun(request, "Logged run", 150_000);
  await page.goto(`/runs/${runId}`);
  await waitForHydration(page);
  const progress = page.getByTestId("run-progress");
  await expect(progress).toHaveAttribute("data-state", "running");
  const lines = page.getByTestId("run-log").locator("li");
  // The heartbeat saves the first line a second into the run; the page shows
  // it while the run still runs, without a reload.
  await expect(lines.filter({ hasText: "reading e2e.runpage." })).toHaveCount(1);
  expect(await progress.getAttribute("data-state"), "seen while running").toBe("running");
  await expect(lines.first().locator("time")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
  await expect(page.getByTestId("run-again")).toHaveCount(0);

  await expect(progress).toHaveAttribute("data-state", "succeeded", { timeout: 60_000 });
  await expect(lines.filter({ hasText: `counted ${(13 * 150_000).toLocaleString("en-US")} words` })).toHaveCount(1);
  await page.getByTestId("run-again").click();
  await expect(page).not.toHaveURL(new RegExp(`/runs/${runId}$`));
  await expect(page).toHaveURL(/\/runs\/\d+$/);
  const again = Number(page.url().split("/").pop());
  expect(again).toBeGreaterThan(runId);
  const next = await (await request.get(`/api/v1/runs/${again}`)).json();
  expect(next.workload_id).toBe((await (await request.get(`/api/v1/runs/${runId}`)).json()).workload_id);
  // The page shows the new run, not the old one kept on screen while it loads:
  // the new run is under way (12 s of reading) when the page switches to it.
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", /^(queued|running)$/);
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded", { timeout: 60_000 });
});

// Events sent while a page's event stream is not open (before it first
// connects, or while the server is away) never reach it: a page that showed a
// run in flight then showed it running long after it had ended. Each page with
// a run in flight asks again when its stream opens.
for (const where of ["run", "workload"] as const) {
  test(`the ${where} page shows the end of a run it missed while its event stream was away`, async ({ page, request, problems }) => {
    test.setTimeout(90_000);
    allowFailedRequests(problems, "/api/v1/events");
    // About 12 MB, read at the test server's 1 MiB/s.
    const table = await textTable(request, "runpage", "t", line.repeat(150_000));
    const workload = await wordcount(request, "runpage", table, `Missed end on the ${where} page`, { tokenizer: "words" });
    const runId = workload.last_run.id;
    let away = true;
    // A refused stream, as a restarting server gives; the browser retries it.
    await page.route("**/api/v1/events", (route) => (away ? route.abort("connectionrefused") : route.continue()));
    await page.goto(where === "run" ? `/runs/${runId}` : `/workloads/${workload.id}`);
    await waitForHydration(page);
    const progress = page.getByTestId("run-progress");
    expect(await progress.getAttribute("data-state"), "still under way when the page is ready").not.toBe("succeeded");
    expect((await ended(request, runId)).state).toBe("succeeded");
    // Nothing told the page yet.
    expect(await progress.getAttribute("data-state")).not.toBe("succeeded");
    away = false;
    await expect(progress).toHaveAttribute("data-state", "succeeded", { timeout: 20_000 });
    await expect(page.getByTestId("result-row").first()).toContainText("lorem");
  });
}
