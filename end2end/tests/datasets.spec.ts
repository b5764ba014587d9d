import { test, expect, allowHttpErrors, waitForHydration, snapshot } from "./fixtures";

const csv = "name,age,city\nAnn,31,Oslo\nBo,,Lima\nCy,45,\"Rio, BR\"\n";

test("upload a CSV and a text file through the form, browse and delete them", async ({ page }) => {
  await page.goto("/datasets");
  await waitForHydration(page);
  const form = page.getByTestId("upload-form");

  await form.getByLabel("Table").fill("e2e.people.staff");
  await form.getByLabel("Files").setInputFiles({ name: "staff.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-done")).toContainText("Imported e2e.people.staff: 3 rows, 3 columns.");
  const tree = page.getByTestId("catalog-tree");
  await expect(tree.getByRole("link", { name: "staff" })).toBeVisible();
  // Formats by the names the upload form gives them, not their API values.
  await expect(tree.locator(".tree__table").filter({ hasText: "staff" })).toContainText(/3 rows · .+ · CSV$/);

  await form.getByLabel("Table").fill("e2e.books.lines");
  await form.getByLabel("Files").setInputFiles([
    { name: "a.txt", mimeType: "text/plain", buffer: Buffer.from("to be\nor not\n") },
    { name: "b.txt", mimeType: "text/plain", buffer: Buffer.from("that is\n") },
  ]);
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-done")).toContainText("Imported e2e.books.lines: 3 rows, 2 columns.");
  await expect(tree.getByRole("link", { name: "lines" })).toBeVisible();
  await snapshot(page, "datasets-catalog");

  await page.goto("/");
  // Leaving before the bundle has loaded would abort it (a failed request).
  await waitForHydration(page);
  const totals = page.getByTestId("data-totals");
  await expect(totals).toContainText("Tables");
  await expect(totals.locator("dd").nth(1)).not.toHaveText("0");
  await page.goto("/datasets");
  await waitForHydration(page);

  await page.getByTestId("catalog-tree").getByRole("link", { name: "staff" }).click();
  await expect(page).toHaveURL(/\/datasets\/e2e\/people\/staff$/);
  await expect(page.getByRole("heading", { level: 1, name: "staff" })).toBeVisible();
  const schema = page.getByTestId("table-schema");
  await expect(schema.locator("tbody tr")).toHaveText([/name\s*string/, /age\s*integer/, /city\s*string/]);
  const preview = page.getByTestId("table-preview");
  await expect(preview.locator("tbody tr")).toHaveCount(3);
  await expect(preview.locator("tbody tr").nth(1).locator("td")).toHaveText(["Bo", "null", "Lima"]);
  await expect(preview.locator("tbody tr").nth(2).locator("td").nth(2)).toHaveText("Rio, BR");
  await expect(page.getByTestId("table-stats")).toContainText("3");
  await expect(page.getByTestId("table-stats").locator("div").filter({ hasText: "Imported from" }).locator("dd")).toHaveText("CSV");
  await snapshot(page, "table");

  // A destructive button looks it, before its confirmation too.
  await expect(page.getByTestId("delete-table")).toHaveClass(/\bbtn--danger-outline\b/);
  await page.getByTestId("delete-table").click();
  await page.getByTestId("confirm-delete").click();
  await expect(page).toHaveURL(/\/datasets$/);
  await expect(page.getByTestId("catalog-tree").getByRole("link", { name: "staff" })).toHaveCount(0);
  await expect(page.getByTestId("catalog-tree").getByRole("link", { name: "lines" })).toBeVisible();
  // The dataset stays, and says it is empty rather than showing nothing.
  const people = page.getByTestId("catalog-tree").locator("summary", { hasText: /dataset\s+people$/ }).locator("..");
  await expect(people.getByTestId("dataset-empty")).toHaveText("No tables in this dataset.");
});

test("upload errors appear next to their field and the form keeps its input", async ({ page, problems }) => {
  allowHttpErrors(problems, "/api/fn/datasets/upload");
  await page.goto("/datasets");
  await waitForHydration(page);
  const form = page.getByTestId("upload-form");
  const file = { name: "x.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n") };

  await form.getByLabel("Table").fill("bad name.d.t");
  await form.getByLabel("Files").setInputFiles(file);
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-table-error")).toContainText("table: project name 'bad name' contains ' '");
  await expect(form.getByLabel("Table")).toHaveValue("bad name.d.t");

  await form.getByLabel("Table").fill("e2e.errors.delim");
  await form.getByLabel("CSV delimiter").fill(";;");
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-delimiter-error")).toContainText("delimiter: must be a single ASCII character");
  await expect(page.getByTestId("upload-table-error")).toBeEmpty();

  await form.getByLabel("CSV delimiter").fill(",");
  await form.getByLabel("Files").setInputFiles({ name: "r.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n3\n") });
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-error")).toContainText("line 3: expected 2 fields like the header, found 1");
  await snapshot(page, "datasets-errors");
});

test("a missing table shows which part is missing, with status 404", async ({ page, problems }) => {
  allowHttpErrors(problems, "/datasets/nobody/none/nothing");
  const response = await page.goto("/datasets/nobody/none/nothing");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("table-error")).toHaveText("Project 'nobody' does not exist");
  await expect(page, "not titled with the name that does not exist").toHaveTitle(/^Table not found/);
});

test("a slow upload shows its progress, then the imported table", async ({ page }) => {
  await page.goto("/datasets");
  await waitForHydration(page);
  // 2 MB/s upstream, so that a 6 MB upload takes a few seconds.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024,
  });
  const form = page.getByTestId("upload-form");
  const text = "progress bars are reassuring\n".repeat(220_000);
  await form.getByLabel("Table").fill(`e2e.uploads.slow${Date.now()}`);
  await form.getByLabel("Files").setInputFiles({ name: "slow.txt", mimeType: "text/plain", buffer: Buffer.from(text) });
  await form.getByRole("button", { name: "Upload" }).click();
  const progress = page.getByTestId("upload-progress");
  await expect(progress).toContainText(/Sending \d+ %/);
  await expect(progress.getByRole("progressbar")).toHaveAttribute("aria-valuenow", /\d+/);
  await snapshot(page, "datasets-upload-progress");
  await expect(page.getByTestId("upload-done")).toContainText("220,000 rows");
  await expect(progress).toHaveCount(0);
});

test("the table page shows names as they are, and tells null from the empty string", async ({ page, request }) => {
  const table = `values${Date.now()}`;
  const rows = [{ Title: "a", note: "" }, { Title: "b", note: null }, { Title: "c", note: "text" }];
  const up = await request.post(`/api/v1/projects/e2e/datasets/page/tables/${table}?format=jsonl`, {
    data: rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
  });
  expect(up.status(), await up.text()).toBe(201);
  await page.goto(`/datasets/e2e/page/${table}`);
  await waitForHydration(page);
  const preview = page.getByTestId("table-preview");
  // Column names are case-sensitive: not upper-cased on screen.
  expect(await preview.locator("th").evaluateAll((ths) => ths.map((th) => (th as HTMLElement).innerText))).toEqual(["Title", "note"]);
  const notes = await preview.locator("tbody tr td:nth-child(2)").allInnerTexts();
  expect(notes[0]).not.toBe(notes[1]);
  expect(notes[1]).toBe("null");
  expect(notes[0]).toContain("empty");
  // The creation time as every other page writes it, not raw ISO 8601.
  await expect(page.getByTestId("table-stats")).toContainText(/Created\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
});
