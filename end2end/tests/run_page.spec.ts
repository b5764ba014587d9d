// The Run page (`/runs/N`) while its run changes state: watched to the end,
// and cancelled from the page itself. Both must end with the final state
// everywhere on the page and no console error (the fixture fails the test on
// one): the page used to panic in the WASM when the run it showed changed
// state, and freeze half-updated.
import { test, expect, waitForHydration } from "./fixtures";

// "lorem" twice a line: the top word of every count below.
const line = "lorem lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n";

/** Uploads `lines` lines of text as a new table and creates a workload on it;
 *  answers the id of the run its create queued. */
async function queuedRun(request: any, name: string, lines: number): Promise<number> {
  const [p, d, t] = ["e2e", "runpage", `t${Date.now()}`];
  const up = await request.post(`/api/v1/projects/${p}/datasets/${d}/tables/${t}?format=text`, {
    data: Buffer.from(line.repeat(lines)),
  });
  expect(up.status(), await up.text()).toBe(201);
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "wordcount", name, src_project: p, src_dataset: d, src_table: t,
      src_column_name: "line", options: { tokenizer: "words" },
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const workload = await (await request.get(`/api/v1/workloads/${(await created.json()).id}`)).json();
  return workload.last_run.id;
}

test("a run's page follows the run to its end", async ({ page, request }) => {
  // About 4 MB, read at the test server's 1 MiB/s: a few seconds of running.
  const runId = await queuedRun(request, "Watched run", 50_000);
  await page.goto(`/runs/${runId}`);
  await waitForHydration(page);
  const progress = page.getByTestId("run-progress");
  expect(await progress.getAttribute("data-state"), "still under way when the page is ready").not.toBe("succeeded");

  await expect(progress).toHaveAttribute("data-state", "succeeded", { timeout: 30_000 });
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
  await expect(top).toContainText((2 * 50_000).toLocaleString("en-US"));
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
