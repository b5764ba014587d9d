// Server rendering and hydration agree on the pages that load data inside
// other data: a workload's page and a run's page with their results (counted
// per group, one group shown), and the workload form with its catalog.
//
// The browser matches each resource it makes to the answer the server sent,
// by the order in which they were made. A resource made inside the view of
// another resource was made more than once by the server, which walks such a
// view before rendering it: on some loads the browser's resource then had no
// answer, and hydration panicked ("unreachable"; seen in CI). So every page
// must announce the same resources on every load, and resolve each one.
import { test, expect, waitForHydration } from "./fixtures";
import { ended } from "./seed";

/** The ids of the resources a server-rendered page announces, and of those it sends. */
function resources(html: string): { announced: number[]; sent: number[] } {
  const list = html.match(/__PENDING_RESOURCES=\[([0-9,]*)\]/);
  expect(list, "the page announces its resources").not.toBeNull();
  const announced = list![1].split(",").filter((id) => id !== "").map(Number);
  const sent = [...html.matchAll(/__RESOLVED_RESOURCES\[(\d+)\] = /g)].map((m) => Number(m[1]));
  return { announced, sent: sent.sort((a, b) => a - b) };
}

test("pages with data inside data announce the same resources on every load and send each one", async ({ page, request }) => {
  test.setTimeout(120_000);
  const suffix = Date.now();
  const rows = [
    ["hamlet", "to be or not to be"], ["hamlet", "to be thus"], ["macbeth", "out damned spot"], ["sonnets", "shall I compare thee"],
  ].map(([corpus, text], i) => JSON.stringify({ corpus, line_number: i + 1, text })).join("\n") + "\n";
  const table = `plays${suffix}`;
  const upload = await request.post(`/api/v1/projects/e2e/datasets/hydration/tables/${table}?format=jsonl`, { data: Buffer.from(rows) });
  expect(upload.status(), await upload.text()).toBe(201);
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "wordcount", name: "Per play", src_project: "e2e", src_dataset: "hydration", src_table: table,
      src_column_name: "text", group_by: "corpus",
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const workload = await created.json();
  const runId = (await (await request.get(`/api/v1/workloads/${workload.id}`)).json()).last_run.id;
  expect((await ended(request, runId)).state).toBe("succeeded");

  const pages = [
    `/workloads/${workload.id}`,
    `/workloads/${workload.id}?group=hamlet&q=t`,
    `/runs/${runId}`,
    `/runs/${runId}?group=hamlet&order=word`,
    `/workloads/${workload.id}/edit`,
    `/workloads/new?table=e2e.hydration.${table}`,
  ];
  for (const path of pages) {
    let first: number[] | undefined;
    // The extra walks depended on timing: one load in ten or so showed them.
    for (let load = 0; load < 25; load++) {
      const answer = await request.get(path);
      expect(answer.status(), path).toBe(200);
      const { announced, sent } = resources(await answer.text());
      expect(sent, `${path}, load ${load + 1}: every announced resource is sent`).toEqual(announced);
      first ??= announced;
      expect(announced, `${path}, load ${load + 1}: the same resources as the first load`).toEqual(first);
    }
    // And the browser hydrates it (the fixture fails the test on a panic).
    await page.goto(path);
    await waitForHydration(page);
  }
  await expect(page.getByTestId("workload-form")).toBeVisible();
});
