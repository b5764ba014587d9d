import { test, expect, allowHttpErrors, waitForHydration, snapshot } from "./fixtures";
import * as fs from "node:fs";

/** 120 distinct words `w001`…`w120` (word i appears i % 7 + 1 times) and "the" 200 times. */
function corpus(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 120; i++) {
    const word = `w${String(i).padStart(3, "0")}`;
    lines.push(Array((i % 7) + 1).fill(word).join(" "));
  }
  for (let i = 0; i < 100; i++) lines.push("The the");
  return lines.join("\n") + "\n";
}

async function upload(request: any, table: string, format: string, body: string | Buffer) {
  const [p, d, t] = table.split(".");
  const res = await request.post(`/api/v1/projects/${p}/datasets/${d}/tables/${t}?format=${format}`, { data: body });
  expect(res.status(), await res.text()).toBe(201);
}

test("create through the form, watch the run, explore and download, edit, re-run, delete", async ({ page, request, problems }) => {
  allowHttpErrors(problems, "/api/fn/workloads/create");
  const suffix = Date.now();
  const table = `e2e.flow.words${suffix}`;
  await upload(request, table, "text", corpus());
  await upload(request, `e2e.flow.numbers${suffix}`, "csv", "n,m\n1,2\n3,4\n");

  await page.goto(`/workloads/new?table=${table}`);
  await waitForHydration(page);
  const form = page.getByTestId("workload-form");
  await expect(form.getByLabel("Table")).toHaveValue(`words${suffix}`);
  await expect(form.getByLabel("Column")).toHaveValue("line");
  await snapshot(page, "workload-new");

  // Each validation error appears next to its field, and the form keeps its input.
  await form.getByLabel("Minimum length").fill("lots");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page.getByTestId("wl-name-error")).toContainText("Give the workload a name");
  await expect(page.getByTestId("wl-min_length-error")).toContainText("whole number");
  await expect(form.getByLabel("Minimum length")).toHaveValue("lots");
  // The keyboard lands on the first field to fix, marked invalid.
  await expect(form.getByLabel("Name")).toBeFocused();
  await expect(form.getByLabel("Minimum length")).toHaveAttribute("aria-invalid", "true");
  await form.getByLabel("Minimum length").fill("100000");
  await form.getByLabel("Name").fill("   ");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page.getByTestId("wl-name-error")).toContainText("Give the workload a name");
  await expect(page.getByTestId("wl-min_length-error")).toContainText("1000");
  // A table without a string column leaves nothing to count.
  await form.getByLabel("Table").selectOption(`numbers${suffix}`);
  await expect(page.getByTestId("source-no-string-column")).toBeVisible();
  await form.getByLabel("Name").fill("Flow words");
  await form.getByLabel("Minimum length").fill("0");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page.getByTestId("wl-src_column_name-error")).not.toBeEmpty();

  // The cascade: back to the text table, whose only string column is picked.
  await form.getByLabel("Table").selectOption(`words${suffix}`);
  await expect(form.getByLabel("Column")).toHaveValue("line");
  await form.getByLabel("Tokenizer").selectOption("whitespace");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page).toHaveURL(/\/workloads\/\d+$/);
  const id = Number(page.url().split("/").pop());

  // The run is pushed to the page until it succeeds.
  const progress = page.getByTestId("run-progress");
  await expect(progress).toHaveAttribute("data-state", "succeeded");
  await expect(page.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Flow words");

  // The chart and the table show what the API says.
  const api = await (await request.get(`/api/v1/workloads/${id}/wordcount?limit=15`)).json();
  const chartWords = await page.getByTestId("chart-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-word")));
  expect(chartWords).toEqual(api.words.map((w: any) => w.word));
  expect(api.words[0]).toEqual({ word: "the", count: 200 });
  const rows = page.getByTestId("result-row");
  await expect(rows).toHaveCount(50);
  await expect(rows.first().locator("td")).toHaveText(["1", "the", "200", /%/]);
  await expect(page.getByTestId("results-count")).toHaveText("1–50 of 121 words");
  await snapshot(page, "workload-detail");

  // Search and page through the URL.
  const search = page.getByTestId("results-search");
  await search.getByLabel("Words starting with").fill("w00");
  await search.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=w00/);
  await expect(rows).toHaveCount(9);
  // Choosing an order applies it at once, with the search kept.
  await search.getByLabel("Order").selectOption("word");
  await expect(page).toHaveURL(/order=word/);
  await expect(page).toHaveURL(/q=w00/);
  await expect(rows.first().locator("td.word")).toHaveText("w001");
  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  await page.getByRole("navigation", { name: "Result pages" }).getByRole("link", { name: "Next →" }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId("results-count")).toHaveText("51–100 of 121 words");

  // The CSV download is the API's CSV.
  const download = page.waitForEvent("download");
  await page.getByTestId("download-csv").click();
  const file = await (await download).path();
  const runId = api.run_id;
  const expected = await (await request.get(`/api/v1/runs/${runId}/wordcount?format=csv`)).text();
  expect(fs.readFileSync(file!, "utf8")).toBe(expected);
  expect(expected.split("\n")[1]).toBe("the,200");

  // The run's own page: timings, options, log and words.
  await page.getByTestId("run-summary").getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/runs/${runId}$`));
  await expect(page.getByTestId("run-total-time")).not.toBeEmpty();
  // The options in the form's words, the stopwords included.
  await expect(page.getByTestId("run-options").getByTestId("option-tokenizer")).toHaveText("Whitespace");
  await expect(page.getByTestId("run-options").getByTestId("option-stopwords")).toHaveText("Count every word");
  // The JSON download is the top of the result, and says so.
  await expect(page.getByTestId("download-json")).toContainText("top 10,000");
  await expect(page.getByTestId("run-log").locator("li")).not.toHaveCount(0);
  await expect(page.getByTestId("result-row").first()).toContainText("the");
  await snapshot(page, "run");

  // Edit: words shorter than 4 characters are no longer counted.
  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  await page.getByTestId("edit-workload").click();
  await expect(page).toHaveURL(new RegExp(`/workloads/${id}/edit$`));
  await waitForHydration(page);
  const edit = page.getByTestId("workload-form");
  await expect(edit.getByLabel("Name")).toHaveValue("Flow words");
  await edit.getByLabel("Name").fill("Flow words, long only");
  await edit.getByLabel("Minimum length").fill("4");
  await snapshot(page, "workload-edit");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(new RegExp(`/workloads/${id}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Flow words, long only");
  await expect(page.getByTestId("definition").getByTestId("option-min-length")).toHaveText("4 characters or more");
  // The result shown predates the edit, and says so.
  await expect(page.getByTestId("result-outdated")).toBeVisible();

  // Re-run with the new definition; no second run while this one is in flight.
  await page.getByTestId("run-now").click();
  await expect(page.getByTestId("run-row")).toHaveCount(2);
  await expect(progress).toHaveAttribute("data-state", "succeeded");
  await expect(page.getByTestId("run-now")).toBeEnabled();
  await expect(page.getByTestId("result-outdated")).toHaveCount(0);
  await expect(page.getByTestId("chart-row").first()).toHaveAttribute("data-word", /^w\d{3}$/);
  await expect(page.getByTestId("chart-row").filter({ has: page.locator('[data-word="the"]') })).toHaveCount(0);

  // Delete, with confirmation.
  await page.getByTestId("delete-workload").locator("summary").click();
  await page.getByTestId("confirm-delete").click();
  await expect(page).toHaveURL(/\/workloads$/);
  expect((await request.get(`/api/v1/workloads/${id}`)).status()).toBe(404);
});

test("a long run can be cancelled from its page", async ({ page, request }) => {
  const table = `e2e.flow.big${Date.now()}`;
  const line = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n";
  await upload(request, table, "text", Buffer.from(line.repeat(200_000)));
  const [p, d, t] = table.split(".");
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "wordcount", name: "Long run", src_project: p, src_dataset: d, src_table: t,
      src_column_name: "line", options: { tokenizer: "words" },
    },
  });
  const id = (await created.json()).id;

  // The Dashboard lists it among the runs in flight, with its progress bar.
  await page.goto("/");
  await waitForHydration(page);
  const inFlight = page.getByTestId("in-flight-run").filter({ hasText: "Long run" });
  await expect(inFlight).toBeVisible();
  await expect(inFlight.getByRole("progressbar")).toBeVisible();
  await expect(page.getByTestId("workloads-by-status")).toBeVisible();
  await snapshot(page, "dashboard-activity");

  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  await page.getByTestId("cancel-run").click();
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "cancelled");
  await expect(page.getByTestId("run-progress")).not.toContainText("left");
  await expect(page.getByTestId("run-row").first()).toContainText("Cancelled");
  await snapshot(page, "workload-cancelled");
  await page.goto("/");
  await expect(page.getByTestId("recent-run").filter({ hasText: "Long run" }).first()).toContainText("Cancelled");
  await expect(page.getByTestId("in-flight-run").filter({ hasText: "Long run" })).toHaveCount(0);
  const runs = await (await request.get(`/api/v1/workloads/${id}/runs`)).json();
  expect(runs[0].state).toBe("cancelled");
});

test("the New workload form chooses nothing for the user", async ({ page, request, problems }) => {
  allowHttpErrors(problems, "/api/fn/workloads/create");
  // Two projects, so there is a choice to make.
  const suffix = Date.now();
  await upload(request, `e2eform.a.one${suffix}`, "text", "x\n");
  await upload(request, `e2eform.b.articles${suffix}`, "csv", "title,text\nHello,the words to count\n");
  await page.goto("/workloads/new");
  await waitForHydration(page);
  const form = page.getByTestId("workload-form");
  await expect(form.getByLabel("Project")).toHaveValue("");
  await expect(form.getByLabel("Project").locator("option:checked")).toHaveText("Choose…");
  // No table chosen yet: no table to lack a string column either.
  await expect(page.getByTestId("source-no-string-column")).toHaveCount(0);
  await form.getByLabel("Name").fill("Nothing chosen");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page.getByTestId("wl-src_project-error")).toHaveText("Choose a project.");

  // From a table's page: the column whose name says it holds text, not the first.
  await page.goto(`/workloads/new?table=e2eform.b.articles${suffix}`);
  await waitForHydration(page);
  await expect(form.getByLabel("Column")).toHaveValue("text");
});

test("a missing workload and a missing run are 404 pages", async ({ page, problems }) => {
  allowHttpErrors(problems, "/workloads/999999", "/runs/999999", "/runs/abc", "/workloads/abc");
  for (const path of ["/runs/abc", "/workloads/abc"]) {
    expect((await page.goto(path))?.status(), `${path} names nothing`).toBe(404);
    await waitForHydration(page);
  }
  const workload = await page.goto("/workloads/999999");
  expect(workload?.status()).toBe(404);
  await expect(page.getByTestId("workload-error")).toContainText("not found");
  await waitForHydration(page);
  const run = await page.goto("/runs/999999");
  expect(run?.status()).toBe(404);
  await expect(page.getByTestId("run-error")).toContainText("not found");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("create and delete with plain form posts", async ({ page, request }) => {
    const table = `e2e.nojs.lines${Date.now()}`;
    await upload(request, table, "text", "one two two\nthree three three\n");

    await page.goto(`/workloads/new?table=${table}`);
    const form = page.getByTestId("workload-form");
    // A failed post comes back to the form with each message next to its field
    // and what was typed.
    await form.getByLabel("Minimum length").fill("lots");
    await form.getByRole("button", { name: "Create and run" }).click();
    await expect(page).toHaveURL(/\/workloads\/new\?.*error=/);
    await expect(page.getByTestId("form-error")).toContainText("2 fields need attention");
    await expect(page.getByTestId("wl-name-error")).toContainText("Give the workload a name");
    await expect(page.getByTestId("wl-min_length-error")).toContainText("whole number");
    await expect(form.getByLabel("Minimum length")).toHaveValue("lots");
    await expect(form.getByLabel("Table")).toHaveValue(table.split(".")[2]);

    await page.goto(`/workloads/new?table=${table}`);
    await form.getByLabel("Name").fill("Without JavaScript");
    await form.getByRole("button", { name: "Create and run" }).click();
    await expect(page).toHaveURL(/\/workloads\/\d+$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Without JavaScript");
    const id = Number(new URL(page.url()).pathname.split("/").pop());

    // Without live updates, a reload shows the finished run.
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded", { timeout: 1000 });
    }).toPass();
    await expect(page.getByTestId("result-row").first()).toContainText("three");

    await page.getByTestId("delete-workload").locator("summary").click();
    await page.getByTestId("confirm-delete").click();
    await expect(page).toHaveURL(/\/workloads$/);
    expect((await request.get(`/api/v1/workloads/${id}`)).status()).toBe(404);
  });

  test("the source is chosen step by step, without a failed submit", async ({ page, request }) => {
    const project = `nojsstep${Date.now()}`;
    await upload(request, `${project}.books.lines`, "text", "one two two\n");
    await upload(request, `${project}.books.other`, "text", "x\n");
    await page.goto("/workloads/new");
    const form = page.getByTestId("workload-form");
    await form.getByLabel("Name").fill("Stepwise");
    await form.getByLabel("Project").selectOption(project);
    await form.getByTestId("source-next").click();
    await expect(page).not.toHaveURL(/error=/);
    // What was typed stays; the project's only dataset is chosen; two tables
    // leave the choice to the user.
    await expect(form.getByLabel("Name")).toHaveValue("Stepwise");
    await expect(form.getByLabel("Dataset")).toHaveValue("books");
    await expect(form.getByLabel("Table")).toHaveValue("");
    await form.getByLabel("Table").selectOption("lines");
    await form.getByTestId("source-next").click();
    await expect(form.getByLabel("Column")).toHaveValue("line");
    await form.getByRole("button", { name: "Create and run" }).click();
    await expect(page).toHaveURL(/\/workloads\/\d+$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Stepwise");
  });
});

test("an n-gram workload through the form: word pairs in the chart and the table", async ({ page, request }) => {
  const suffix = Date.now();
  await upload(request, `e2e.ngram.lines${suffix}`, "text", "the cat sat\nthe cat ran\nand the cat\n");
  await page.goto(`/workloads/new?table=e2e.ngram.lines${suffix}`);
  await waitForHydration(page);
  const form = page.getByTestId("workload-form");
  await form.getByLabel("Name").fill("Cat pairs");
  await form.getByLabel("Type").selectOption("ngram");
  await expect(page.locator("#wl-type-help")).toContainText("consecutive words");
  await form.getByLabel("Words per n-gram").selectOption("2");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page).toHaveURL(/\/workloads\/\d+$/);
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded");
  await expect(page.getByTestId("option-n")).toHaveText("2 (bigrams)");
  await expect(page.getByTestId("result-row").first().locator("td.word")).toHaveText("the cat");
  await expect(page.getByTestId("result-row").first().locator("td").nth(2)).toHaveText("3");
  // No pair spans two lines.
  await expect(page.getByTestId("result-row").filter({ hasText: "sat the" })).toHaveCount(0);
  await expect(page.getByTestId("chart-row").first()).toHaveAttribute("data-word", "the cat");
});

test("a row filter through the form: its error next to it, then only the rows it keeps, shown on the Workload and Run pages", async ({ page, request, problems }) => {
  allowHttpErrors(problems, "/api/fn/workloads/create");
  const suffix = Date.now();
  const table = `e2e.filter.plays${suffix}`;
  await upload(request, table, "csv", "play,year,text\nhamlet,1600,to be or not to be\nmacbeth,1606,out damned spot\nlear,1605,nothing will come of nothing\n");
  await page.goto(`/workloads/new?table=${table}`);
  await waitForHydration(page);
  const form = page.getByTestId("workload-form");
  await form.getByLabel("Name").fill("Later plays");
  await expect(form.getByLabel("Column")).toHaveValue("text");
  await expect(page.getByTestId("filter-columns")).toHaveText("Columns: play (string), year (integer), text (string).");
  // A column the table lacks: the message is next to the filter, which keeps its text.
  const filter = form.getByLabel("Rows to count");
  await filter.fill("genre = tragedy");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page.getByTestId("wl-filter-error")).toContainText("Column 'genre' does not exist");
  await expect(filter).toHaveValue("genre = tragedy");
  await expect(filter).toBeFocused();
  await filter.fill("year >= 1605\nplay in lear, macbeth");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page).toHaveURL(/\/workloads\/\d+$/);
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded");
  await expect(page.getByTestId("option-filter").locator(".condition")).toHaveText(["play in lear, macbeth", "year >= 1605"]);
  await expect(page.getByTestId("result-row").first().locator("td.word")).toHaveText("nothing");
  await expect(page.getByTestId("result-row").filter({ hasText: "be" })).toHaveCount(0);
  // The edit form shows the stored filter as text, and the run shows what it counted.
  await page.getByTestId("edit-workload").click();
  await expect(page.getByTestId("workload-form").getByLabel("Rows to count")).toHaveValue("play in lear, macbeth\nyear >= 1605\n");
  await page.goBack();
  await page.getByTestId("run-row").first().getByRole("link").click();
  await expect(page.getByTestId("option-filter")).toContainText("year >= 1605");
});

test("two runs of an n-gram workload compared from its history: totals, kinds, order, search and CSV", async ({ page, request }) => {
  const suffix = Date.now();
  const table = `e2e.compare.plays${suffix}`;
  const lines = [
    ["hamlet", "to be or not to be"],
    ["hamlet", "the rest is silence"],
    ["macbeth", "to be thus is nothing"],
    ["macbeth", "out damned spot"],
  ];
  await upload(request, table, "jsonl", lines.map(([corpus, text], i) => JSON.stringify({ corpus, line_number: i + 1, text })).join("\n") + "\n");
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "ngram", name: "Play pairs", src_project: "e2e", src_dataset: "compare", src_table: `plays${suffix}`,
      src_column_name: "text", options: { n: 2 }, filter: { corpus: "hamlet" },
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = await created.json();
  await expect(async () => {
    expect((await (await request.get(`/api/v1/workloads/${id}`)).json()).status).toBe("succeeded");
  }).toPass({ timeout: 30_000 });
  expect((await request.patch(`/api/v1/workloads/${id}`, { data: { filter: { corpus: "macbeth" } } })).status()).toBe(200);
  expect((await request.post(`/api/v1/workloads/${id}/runs`)).status()).toBe(202);
  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded");
  await page.reload();
  await waitForHydration(page);
  // Only the newer run has an older succeeded run to compare with.
  await expect(page.getByTestId("compare-link")).toHaveCount(1);
  await page.getByTestId("compare-link").click();
  await expect(page).toHaveURL(/\/runs\/\d+\/compare\/\d+$/);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("→ run");
  // Hamlet's pairs: to be ×2, be or, or not, not to, the rest, rest is, is silence;
  // Macbeth's: to be, be thus, thus is, is nothing, out damned, damned spot.
  await expect(page.getByTestId("summary-new")).toHaveText("5");
  await expect(page.getByTestId("summary-vanished")).toHaveText("6");
  await expect(page.getByTestId("summary-changed")).toHaveText("1");
  const first = page.getByTestId("compare-row").first();
  await expect(first.locator("td.word")).toHaveText("be thus");
  await expect(first.locator("td").nth(5)).toHaveText("new");
  // The largest fall first: "to be" went from 2 to 1.
  await page.getByLabel("Order").selectOption("-relative");
  await expect(page).toHaveURL(/order=-relative/);
  await expect(page.getByTestId("compare-row").first().locator("td").nth(5)).toHaveText("−100 %");
  await page.getByLabel("Show").selectOption("changed");
  await expect(page).toHaveURL(/kind=changed/);
  await expect(page.getByTestId("compare-row")).toHaveCount(1);
  await expect(page.getByTestId("compare-row").first()).toContainText("to be");
  await expect(page.getByTestId("compare-row").first().locator("td").nth(4)).toHaveText("−1");
  await expect(page.getByTestId("compare-csv")).toHaveAttribute("href", /kind=changed&order=-relative&format=csv$/);
  const csv = await request.get((await page.getByTestId("compare-csv").getAttribute("href"))!);
  expect(await csv.text()).toBe("word,before,after,change,relative\nto be,2,1,-1,-0.500000\n");
  // A search is a link too.
  await page.getByLabel("Show").selectOption("all");
  await expect(page).not.toHaveURL(/kind=/);
  await expect(page.getByTestId("compare-count")).toContainText("of 12 terms");
  await page.getByLabel("Terms starting with").fill("out");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("compare-row")).toHaveCount(1);
  await expect(page.getByTestId("compare-row").first().locator("td.word")).toHaveText("out damned");
});

test("an n-gram workload grouped by corpus on the sample table: its groups, a group's chart and words, two runs compared within a group", async ({ page, request }) => {
  test.setTimeout(180_000);
  const suffix = Date.now();
  const sample = process.env.TALLY_SAMPLE;
  // The sample table (corpus, line_number, text), or a few lines of it when the sample is not there.
  const body = sample
    ? fs.readFileSync(sample)
    : Buffer.from([
        ["hamlet", "to be or not to be"], ["hamlet", "to be thus"], ["macbeth", "out damned spot"], ["sonnets", "shall I compare thee"],
      ].map(([corpus, text], i) => JSON.stringify({ corpus, line_number: i + 1, text })).join("\n") + "\n");
  const upload = await request.post(`/api/v1/projects/e2e/datasets/groups/tables/shakespeare${suffix}?format=jsonl`, { data: body, timeout: 120_000 });
  expect(upload.status(), await upload.text()).toBe(201);

  await page.goto(`/workloads/new?table=e2e.groups.shakespeare${suffix}`);
  await waitForHydration(page);
  const form = page.getByTestId("workload-form");
  await form.getByLabel("Name").fill("Pairs per play");
  await form.getByLabel("Type").selectOption("ngram");
  await form.getByLabel("Words per n-gram").selectOption("2");
  await expect(form.getByLabel("Column")).toHaveValue("text");
  await form.getByLabel("Counts per group of").selectOption("corpus");
  await form.getByRole("button", { name: "Create and run" }).click();
  await expect(page).toHaveURL(/\/workloads\/\d+$/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByTestId("run-progress")).toHaveAttribute("data-state", "succeeded", { timeout: 60_000 });
  await expect(page.getByTestId("option-group-by")).toHaveText("Per value of corpus");

  // The groups, as the API lists them, each a link.
  const { last_run } = await (await request.get(`/api/v1/workloads/${id}`)).json();
  const groups = await (await request.get(`/api/v1/runs/${last_run.id}/groups`)).json();
  expect(groups.total).toBeGreaterThanOrEqual(3);
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId("group-row")).toHaveCount(groups.total);
  await expect(page.getByTestId("group-shown")).toHaveText("Showing: All groups of corpus");
  const hamlet = groups.groups.find((g: any) => g.group === "hamlet");
  expect(hamlet, JSON.stringify(groups.groups.map((g: any) => g.group))).toBeTruthy();

  // One group: the chart, the table and the downloads turn to it.
  await page.getByTestId("group-row").getByRole("link", { name: "hamlet", exact: true }).click();
  await expect(page).toHaveURL(/\?group=hamlet#results$/);
  await expect(page.getByTestId("group-shown")).toHaveText("Showing: corpus = hamlet · All groups");
  const top = await (await request.get(`/api/v1/runs/${last_run.id}/wordcount?group=hamlet&limit=1`)).json();
  await expect(page.getByTestId("chart-row").first()).toHaveAttribute("data-word", top.words[0].word);
  await expect(page.getByTestId("result-row").first().locator("td.word")).toHaveText(top.words[0].word);
  await expect(page.getByTestId("results-count")).toContainText(`of ${hamlet.distinct_words.toLocaleString("en-US")} words`);
  await expect(page.getByTestId("download-csv")).toHaveAttribute("href", /\?group=hamlet&format=csv$/);
  const csv = await (await request.get((await page.getByTestId("download-csv").getAttribute("href"))!)).text();
  expect(csv.split("\n")[0]).toBe("group,word,count");
  expect(csv.split("\n")[1]).toBe(`hamlet,${top.words[0].word},${top.words[0].count}`);

  // A second run of the same definition: compared within the group, nothing changed.
  expect((await request.post(`/api/v1/workloads/${id}/runs`)).status()).toBe(202);
  await expect(async () => {
    expect((await (await request.get(`/api/v1/workloads/${id}`)).json()).status).toBe("succeeded");
  }).toPass({ timeout: 60_000 });
  await page.goto(`/workloads/${id}?group=hamlet`);
  await waitForHydration(page);
  await page.getByTestId("compare-link").click();
  await expect(page).toHaveURL(/\/runs\/\d+\/compare\/\d+\?group=hamlet$/);
  await waitForHydration(page);
  await expect(page.getByTestId("compare-group")).toContainText("Comparing one group: hamlet");
  await expect(page.getByTestId("summary-unchanged")).toHaveText(hamlet.distinct_words.toLocaleString("en-US"));
  await expect(page.getByTestId("summary-new")).toHaveText("0");
  await page.getByTestId("compare-all-groups").click();
  await expect(page).toHaveURL(/\/compare\/\d+$/);
  await expect(page.getByTestId("compare-group")).toHaveCount(0);
});
