// Every page at a desktop width and a phone width, in light and dark: none
// scrolls sideways, nothing sticks out of its card, no button, id, number,
// timestamp or badge breaks over lines (a table reference only after a dot,
// unless one name alone is wider than its cell),
// every select shows its choice whole, and a screenshot of each is saved under
// end2end/artifacts/ to be looked at.
import { test, expect, waitForHydration, brokenTexts, snapshot } from "./fixtures";
import { textTable, wordcount, ended } from "./seed";

/** The selects (by id or name) too narrow to show their chosen option whole:
 *  its text, their padding and the arrow. */
async function cutSelects(page: import("@playwright/test").Page): Promise<string[]> {
  return page.locator("select:visible").evaluateAll((selects) => {
    const ctx = document.createElement("canvas").getContext("2d")!;
    return (selects as HTMLSelectElement[])
      .filter((el) => {
        const cs = getComputedStyle(el);
        ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
        const text = ctx.measureText(el.selectedOptions[0]?.text ?? "").width;
        return text + parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) + 20 > el.clientWidth;
      })
      .map((el) => el.id || el.name);
  });
}

/** The names of table references (`project.` `dataset.` ...) broken over two
 *  lines although the name alone fits the line: a reference breaks after a
 *  dot, and inside a name only when that name is wider than its cell. */
async function namesBrokenWithoutNeed(page: import("@playwright/test").Page): Promise<string[]> {
  return page.locator(".source-name span").evaluateAll((spans) =>
    spans
      .filter((span) => {
        const lines = new Set([...span.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size <= 1) return false;
        const cell = span.closest("td, dd, p, li, div") as HTMLElement;
        const probe = document.createElement("span");
        probe.style.whiteSpace = "nowrap";
        probe.textContent = span.textContent;
        span.parentElement!.appendChild(probe);
        const width = probe.getBoundingClientRect().width;
        probe.remove();
        return width <= cell.clientWidth;
      })
      .map((span) => span.textContent ?? ""),
  );
}

const viewports = [["1280", { width: 1280, height: 800 }], ["390", { width: 390, height: 844 }]] as const;

test("every page lays out at 1280 px and 390 px, light and dark", async ({ page, request }) => {
  test.setTimeout(120_000);
  const table = await textTable(request, "pages", "corpus", "to be or not to be that is the question\n".repeat(200));
  const w = await wordcount(request, "pages", table, "Every page");
  const run = await ended(request, w.last_run.id);
  // A second run with another option, for the Compare page (and the history's link to it).
  expect((await request.patch(`/api/v1/workloads/${w.id}`, { data: { options: { min_length: 3 } } })).status()).toBe(200);
  const again = await request.post(`/api/v1/workloads/${w.id}/runs`);
  expect(again.status(), await again.text()).toBe(202);
  const second = await ended(request, (await again.json()).id);
  // A workload counted per group, for its groups on the Workload and Run pages.
  const plays = `plays${Date.now()}`;
  const up = await request.post(`/api/v1/projects/e2e/datasets/pages/tables/${plays}?format=csv`, {
    data: "corpus,text\na midsummer night's dream,the course of true love never did run smooth\nhamlet,to be or not to be\n,an orphan line\n",
  });
  expect(up.status(), await up.text()).toBe(201);
  const grouped = await request.post("/api/v1/workloads", {
    data: { workload_type: "wordcount", name: "Per play", src_project: "e2e", src_dataset: "pages", src_table: plays, src_column_name: "text", group_by: "corpus" },
  });
  expect(grouped.status(), await grouped.text()).toBe(201);
  const g = await (await request.get(`/api/v1/workloads/${(await grouped.json()).id}`)).json();
  const groupedRun = await ended(request, g.last_run.id);
  const pages: [string, string][] = [
    ["dashboard", "/"],
    ["workloads", "/workloads"],
    ["workload-new", "/workloads/new"],
    ["workload", `/workloads/${w.id}`],
    ["workload-edit", `/workloads/${w.id}/edit`],
    ["runs", "/runs"],
    ["run", `/runs/${run.id}`],
    ["workload-grouped", `/workloads/${g.id}`],
    ["run-group", `/runs/${groupedRun.id}?group=a%20midsummer%20night's%20dream`],
    ["compare", `/runs/${run.id}/compare/${second.id}`],
    ["datasets", "/datasets"],
    ["table", `/datasets/e2e/pages/${table}`],
    ["account", "/account"],
    ["admin", "/admin"],
  ];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [size, viewport] of viewports) {
      await page.setViewportSize(viewport);
      for (const [name, path] of pages) {
        await page.goto(path);
        await waitForHydration(page);
        const where = `${name} at ${size} px, ${scheme}`;
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${where}: no sideways scroll`).toBe(true);
        const unbreakable = page.locator(".btn, table.data td:not(.text), table.data th, .badge");
        expect(await brokenTexts(unbreakable), where).toEqual([]);
        expect(await namesBrokenWithoutNeed(page), `${where}: names broken inside though they fit a line`).toEqual([]);
        const overflowing = await page.locator(".card").evaluateAll((cards) =>
          cards.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.querySelector("h2")?.textContent ?? c.className),
        );
        expect(overflowing, `${where}: cards whose content sticks out of them`).toEqual([]);
        expect(await cutSelects(page), `${where}: selects too narrow for their choice`).toEqual([]);
        if (size === "1280") {
          // A desktop has the room: its tables fit their cards, none scrolls.
          const scrolling = await page.locator(".table-scroll").evaluateAll((frames) =>
            frames.filter((f) => f.scrollWidth > f.clientWidth + 1).map((f) => f.querySelector("table")?.dataset.testid ?? "a table"),
          );
          expect(scrolling, `${where}: tables wider than their card`).toEqual([]);
        }
        await snapshot(page, `page-${name}-${size}${scheme === "dark" ? "-dark" : ""}`);
      }
    }
  }
});
