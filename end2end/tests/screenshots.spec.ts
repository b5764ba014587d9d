// The README's pictures: the Workload page of a finished count and the
// Dashboard, at 1280 px, in light and dark mode. Every run of the suite
// renders them (and fails on any console error, like every test here); with
// TALLY_SCREENSHOTS=DIR it also saves them there, which is how
// docs/images/ is kept current:
//
//   cd end2end && TALLY_SCREENSHOTS=../docs/images TALLY_SAMPLE=~/.cache/tally/samples/shakespeare.jsonl \
//     TALLY_BIN=../target/release/tally npx playwright test screenshots
//
// TALLY_SAMPLE (the test command's Shakespeare sample, JSON Lines) gives the
// pictures real text; without it a few lines of the sonnets stand in.
import * as fs from "node:fs";
import * as path from "node:path";
import { test, expect, waitForHydration } from "./fixtures";
import { ended } from "./seed";

const SONNETS = `Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
`;

const out = process.env.TALLY_SCREENSHOTS;

/** Scrolls the Workload page to its result, below the sticky header: the chart
 *  and the table (the run's facts above them are read at the test server's
 *  throttled 1 MiB/s, not at the engine's speed). */
async function scrollToResult(page: import("@playwright/test").Page) {
  await page.getByRole("heading", { name: "Latest result" }).evaluate((heading) => {
    heading.scrollIntoView();
    window.scrollBy(0, -80);
  });
}

async function save(page: import("@playwright/test").Page, name: string) {
  const shot = await page.screenshot({ fullPage: false });
  expect(shot.length).toBeGreaterThan(10_000);
  if (out) {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `${name}.png`), shot);
  }
}

test("the README's pictures: the Workload page and the Dashboard", async ({ page, request }) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  const sample = process.env.TALLY_SAMPLE;
  // The suite's server starts empty, and no other test uses this name.
  const table = "shakespeare";
  const upload = sample
    ? await request.post(`/api/v1/projects/public-data/datasets/samples/tables/${table}?format=jsonl`, {
        data: fs.readFileSync(sample),
        timeout: 120_000,
      })
    : await request.post(`/api/v1/projects/public-data/datasets/samples/tables/${table}?format=text`, {
        data: Buffer.from(SONNETS.repeat(20)),
      });
  expect(upload.status(), await upload.text()).toBe(201);
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "wordcount", name: "Shakespeare, every word", src_project: "public-data",
      src_dataset: "samples", src_table: table, src_column_name: sample ? "text" : "line",
      options: { tokenizer: "words", case: "lower", min_length: 2, stopwords: "english" },
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  // The create answer's last_run can still be null; the workload's page of the API has it.
  const workload = await (await request.get(`/api/v1/workloads/${(await created.json()).id}`)).json();
  const run = await ended(request, workload.last_run.id);
  expect(run.state).toBe("succeeded");

  await page.goto(`/workloads/${workload.id}`);
  await waitForHydration(page);
  await expect(page.getByRole("table").last()).toBeVisible();
  await scrollToResult(page);
  await save(page, "workload");

  await page.goto("/");
  await waitForHydration(page);
  await expect(page.getByTestId("recent-run").first()).toContainText("Shakespeare, every word");
  await save(page, "dashboard");

  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(`/workloads/${workload.id}`);
  await waitForHydration(page);
  await scrollToResult(page);
  await save(page, "workload-dark");
});
