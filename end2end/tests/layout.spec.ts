// Layout at a desktop width and a phone width: ids, numbers, timestamps and
// badges never break over lines, tables too wide for a phone scroll sideways
// (the page itself never does), the header stays small on a phone and the
// chart's labels stay readable.
import { test, expect, waitForHydration, brokenTexts, snapshot } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

const text = "alpha beta beta gamma gamma gamma delta delta delta delta\n".repeat(500);

/** A finished workload whose id has two digits at least (id 11 used to render
 *  as "1" over "1"), with a long name. */
async function finishedWorkload(request: any) {
  const table = await textTable(request, "layout", "t", text);
  let w: any;
  do {
    w = await wordcount(request, "layout", table, "A workload with a rather long name that has to wrap somewhere");
  } while (w.id < 11);
  await ended(request, w.last_run.id);
  return w;
}

for (const [device, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]] as const) {
  test(`${device}: ids, numbers, timestamps and badges stay on one line`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const w = await finishedWorkload(request);
    for (const path of ["/", "/workloads", `/workloads/${w.id}`, `/runs/${w.last_run.id}`]) {
      await page.goto(path);
      await waitForHydration(page);
      await expect(page.locator("table.data").first()).toBeVisible();
      const unbreakable = page.locator("table.data td:not(.text), table.data th, .badge");
      expect(await brokenTexts(unbreakable), `on ${path}`).toEqual([]);
      // Only a table may scroll sideways, never the page.
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `on ${path}`).toBe(true);
    }
  });
}

test("phone: a wide table scrolls sideways in its frame", async ({ page, request }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await finishedWorkload(request);
  await page.goto("/workloads");
  await waitForHydration(page);
  const frame = page.locator(".table-scroll", { has: page.getByTestId("workloads-table") });
  const [scrollWidth, clientWidth] = await frame.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  expect(scrollWidth, "the table keeps its width and scrolls").toBeGreaterThan(clientWidth);
  await frame.evaluate((el) => el.scrollBy(200, 0));
  expect(await frame.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  // The edges it can scroll to cast a shadow (a scroll bar shows only while
  // scrolling): the frame's own shadows, whose covers move with the content.
  const [image, attachment] = await frame.evaluate((el) => {
    const style = getComputedStyle(el);
    return [style.backgroundImage, style.backgroundAttachment];
  });
  expect(image).toContain("radial-gradient");
  expect(attachment).toContain("local");
});

test("phone: the header is one row of navigation and scrolls away", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/workloads");
  await waitForHydration(page);
  const links = page.locator(".nav a");
  const tops = await links.evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().top)));
  expect(new Set(tops).size, "the navigation is one line").toBe(1);
  // It scrolls sideways to its last links, and its edge says so.
  const nav = page.locator(".nav");
  const [navScroll, navWidth] = await nav.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  expect(navScroll).toBeGreaterThan(navWidth);
  expect(await nav.evaluate((el) => getComputedStyle(el).backgroundImage)).toContain("radial-gradient");
  const header = await page.locator(".topbar").boundingBox();
  expect(header!.height, "the header's height").toBeLessThanOrEqual(100);
  // Scrolled down, the header is not pinned over the content.
  await page.evaluate(() => window.scrollTo(0, 400));
  const pinned = await page.locator(".topbar").evaluate((el) => ["sticky", "fixed"].includes(getComputedStyle(el).position));
  expect(pinned).toBe(false);
});

test("desktop: the navigation clips nothing, focus rings included", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto("/workloads");
  await waitForHydration(page);
  expect(await page.locator(".nav").evaluate((el) => getComputedStyle(el).overflowX)).toBe("visible");
});

test("phone: the chart's labels keep a readable size", async ({ page, request }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const w = await finishedWorkload(request);
  await page.goto(`/workloads/${w.id}`);
  await waitForHydration(page);
  const labels = page.getByTestId("word-chart").locator(".chart__label");
  await expect(labels.first()).toBeVisible();
  const heights = await labels.evaluateAll((els) => els.map((el) => el.getBoundingClientRect().height));
  for (const h of heights) expect(h, "a label's rendered height in px").toBeGreaterThanOrEqual(12);
  await snapshot(page, "workload-phone");
});

