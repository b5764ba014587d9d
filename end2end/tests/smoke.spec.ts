import { test, expect, allowHttpErrors, waitForHydration, snapshot } from "./fixtures";

test("the Dashboard hydrates and its status card refreshes through a server function", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveTitle("Dashboard · Tally");
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  // Server-rendered before any script runs.
  await expect(page.getByTestId("db-state")).toHaveText("Database OK");
  await waitForHydration(page);

  const checkedAt = page.getByTestId("checked-at");
  const before = await checkedAt.getAttribute("datetime");
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/api/fn/system/status"),
    page.getByTestId("status-refresh").click(),
  ]);
  expect(answer.status()).toBe(200);
  const body = await answer.json();
  expect(body.database.ok).toBe(true);
  // Written like every other time on the pages, the exact instant in `datetime`.
  await expect(checkedAt).toHaveAttribute("datetime", body.checked_at);
  await expect(checkedAt).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
  expect(body.checked_at).not.toBe(before);
  await expect(page.getByTestId("db-state")).toHaveText("Database OK");
  await snapshot(page, "dashboard");
});

test("navigation moves between pages without a full reload", async ({ page }) => {
  await page.goto("/");
  await waitForHydration(page);
  // A full reload would drop this marker; client-side routing keeps it.
  await page.evaluate(() => ((window as any).__tallyMarker = 42));
  const nav = page.getByRole("navigation", { name: "Main" });

  await nav.getByRole("link", { name: "Workloads" }).click();
  await expect(page).toHaveURL(/\/workloads$/);
  await expect(page.getByRole("heading", { level: 1, name: "Workloads" })).toBeVisible();
  await expect(page).toHaveTitle("Workloads · Tally");
  await expect(nav.getByRole("link", { name: "Workloads" })).toHaveAttribute("aria-current", "page");
  await snapshot(page, "workloads");

  await nav.getByRole("link", { name: "Datasets" }).click();
  await expect(page).toHaveURL(/\/datasets$/);
  await expect(page.getByRole("heading", { level: 1, name: "Datasets" })).toBeVisible();
  await snapshot(page, "datasets");

  expect(await page.evaluate(() => (window as any).__tallyMarker)).toBe(42);
});

test("an unknown address shows the 404 page with HTTP status 404", async ({ page, problems }) => {
  allowHttpErrors(problems, "/no/such/page");
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("link", { name: "Back to the Dashboard" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await snapshot(page, "not-found");
});

test("the API docs page serves the OpenAPI document", async ({ request }) => {
  const spec = await request.get("/api/v1/openapi.json");
  expect(spec.status()).toBe(200);
  const doc = await spec.json();
  expect(doc.openapi).toMatch(/^3\./);
  expect(Object.keys(doc.paths)).toContain("/healthz");
});

test("Swagger UI runs under the Content-Security-Policy", async ({ page }) => {
  await page.goto("/docs/");
  await expect(page.locator(".swagger-ui .info .title")).toContainText("Tally");
  await expect(page.getByRole("button", { name: /Authorize/ })).toBeVisible();
});
