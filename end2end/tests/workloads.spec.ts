import { test, expect, waitForHydration, snapshot, startTally } from "./fixtures";

const text = "the cat sat on the mat\nthe hat\n";

/** A table and `count` workloads over it, created through the REST API. */
async function seed(request: any, prefix: string, count: number) {
  const table = `${prefix}${Date.now()}`;
  const upload = await request.post(`/api/v1/projects/e2e/datasets/wl/tables/${table}?format=text`, { data: text });
  expect(upload.status()).toBe(201);
  const ids: number[] = [];
  for (let i = 1; i <= count; i++) {
    const created = await request.post("/api/v1/workloads", {
      data: {
        workload_type: "wordcount", name: `${prefix} ${String(i).padStart(3, "0")}`,
        src_project: "e2e", src_dataset: "wl", src_table: table, src_column_name: "line",
      },
    });
    expect(created.status()).toBe(201);
    ids.push((await created.json()).id);
  }
  return ids;
}

test("the workloads list filters, sorts and pages through the URL", async ({ page, request }) => {
  await seed(request, "Alpha", 3);
  await seed(request, "Pager", 101);
  await page.goto("/workloads?q=alpha");
  await waitForHydration(page);
  const rows = page.getByTestId("workload-row");
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toContainText("Alpha 001");
  await expect(rows.first().getByText(/Created|Queued|Running|Succeeded/)).toBeVisible();
  await snapshot(page, "workloads-list");

  // The filter form is a GET form: its state lands in the URL.
  const filters = page.getByTestId("workload-filters");
  await filters.getByLabel("Search names").fill("pager");
  await filters.getByLabel("Sort").selectOption("-id");
  await filters.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/q=pager/);
  await expect(page).toHaveURL(/sort=-id/);
  await expect(page.getByTestId("workloads-count")).toHaveText("1–100 of 101 workloads");
  await expect(rows.first()).toContainText("Pager 101");
  await page.getByRole("link", { name: "Next →" }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Pager 001");
  await page.goBack();
  await expect(rows).toHaveCount(100);

  await page.goto("/workloads?q=no-such-workload-name");
  await expect(page.getByTestId("workloads-empty")).toContainText("No workload matches");

  // `?limit=` sets the page size, and the pager keeps it.
  await page.goto("/workloads?q=pager&limit=10");
  await expect(rows).toHaveCount(10);
  await expect(page.getByTestId("workloads-count")).toHaveText("1–10 of 101 workloads");
  await expect(page.getByRole("link", { name: "Next →" })).toHaveAttribute("href", /limit=10/);
  await expect(page.getByText("Page 1 of 11")).toBeVisible();

  // Past the last page: not "no workloads yet", but where the last page is.
  await page.goto("/workloads?q=pager&page=99");
  const empty = page.getByTestId("workloads-empty");
  await expect(empty).toContainText("Page 99 is past the end");
  await expect(empty).not.toContainText("No workloads yet");
  await empty.getByTestId("last-page").click();
  await expect(page).toHaveURL(/page=2/);
  await expect(rows).toHaveCount(1);

  // One workload is one workload.
  await page.goto("/workloads?q=alpha+001");
  await expect(page.getByTestId("workloads-count")).toHaveText("1 workload");
});

test("a fresh installation's empty list points to the New workload form", async ({ page }) => {
  const fresh = await startTally([]);
  try {
    await page.goto(`${fresh.url}/workloads`);
    await waitForHydration(page);
    const empty = page.getByTestId("workloads-empty");
    await expect(empty).toContainText("No workloads yet");
    await expect(empty).not.toContainText("POST /api/v1");
    await empty.getByTestId("empty-new-workload").click();
    await expect(page).toHaveURL(/\/workloads\/new$/);
  } finally {
    fresh.stop();
  }
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the list is rendered on the server, filtered by the URL", async ({ page, request }) => {
    await seed(request, "Nojs", 2);
    await page.goto("/workloads?q=nojs&sort=-id");
    const rows = page.getByTestId("workload-row");
    await expect(rows).toHaveCount(2);
    await expect(rows.first()).toContainText("Nojs 002");
    await expect(page.getByTestId("workload-filters").getByLabel("Search names")).toHaveValue("nojs");
  });
});
