// Sign-in, roles and hostile input in a real browser: a server that needs a
// sign-in is started by the tests themselves (the suite's shared server is a
// loopback one that needs none).
import { test, expect, waitForHydration, snapshot, startTally, allowHttpErrors } from "./fixtures";
import type { Page } from "@playwright/test";

const HOSTILE = "</title><script>alert(1)</script>";
const ADMIN_PASSWORD = "correct horse battery";

async function signIn(page: Page, base: string, name: string, password: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByTestId("login-submit").click();
}

test.describe("a server that needs a sign-in", () => {
  let server: Awaited<ReturnType<typeof startTally>>;

  test.beforeAll(async () => {
    server = await startTally(["--auth", "required"]);
  });
  test.afterAll(() => server?.stop());

  test("setup link → first admin → a token in the UI → sign out → sign in", async ({ page }) => {
    const line = server.log.find((l) => l.includes("/setup?secret="));
    expect(line, "the setup link is logged").toBeTruthy();
    const setup = line!.match(/(http:\/\/\S+\/setup\?secret=\S+)/)![1];

    await page.goto(setup);
    await waitForHydration(page);
    await page.getByLabel("User name").fill("root");
    await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByLabel("Password, again").fill(ADMIN_PASSWORD);
    await page.getByTestId("setup-submit").click();
    await expect(page).toHaveURL(`${server.url}/`);
    await waitForHydration(page);
    await expect(page.getByTestId("user-name")).toHaveText("root");
    await expect(page.getByTestId("admin-link")).toBeVisible();

    await page.getByTestId("user-name").click();
    await expect(page).toHaveURL(`${server.url}/account`);
    await page.getByLabel("Name").fill("ci");
    await page.getByTestId("token-create").click();
    const secret = page.getByTestId("token-secret").locator("code");
    await expect(secret).toHaveText(/^tally_[A-Za-z0-9_-]{43}$/);
    await expect(page.getByTestId("tokens-table")).toContainText("ci");
    await snapshot(page, "account-token");
    // The token works for a script.
    const token = await secret.textContent();
    const me = await page.request.get(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({ name: "root", role: "admin" });

    await page.getByTestId("admin-link").click();
    await expect(page).toHaveURL(`${server.url}/admin`);
    await expect(page.getByTestId("users-table")).toContainText("root");
    await expect(page.getByTestId("audit-table")).toContainText("token.create");
    await snapshot(page, "admin");

    await page.getByTestId("sign-out").click();
    await expect(page).toHaveURL(`${server.url}/login`);
    await waitForHydration(page);
    await snapshot(page, "login");
    // Signed out on the server too: pages send the browser to sign in again.
    await page.goto(`${server.url}/workloads`);
    await expect(page).toHaveURL(`${server.url}/login?next=%2Fworkloads`);
    await page.getByLabel("User name").fill("root");
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByTestId("login-submit").click();
    await expect(page).toHaveURL(`${server.url}/workloads`);
    await waitForHydration(page);
  });

  test("a viewer sees no Run, Edit, Delete or upload, and the server refuses them", async ({ page, browser, problems }) => {
    // The admin of the previous test makes a table, a workload and a viewer.
    const admin = await browser.newContext();
    const adminPage = await admin.newPage();
    await signIn(adminPage, server.url, "root", ADMIN_PASSWORD);
    await expect(adminPage).toHaveURL(`${server.url}/`);
    const api = adminPage.request;
    const table = await api.post(`${server.url}/api/v1/projects/p/datasets/d/tables/t?format=csv`, {
      data: "id,text\n1,the cat\n", headers: { "Content-Type": "text/csv" },
    });
    expect(table.status()).toBe(201);
    const created = await api.post(`${server.url}/api/v1/workloads`, {
      data: { workload_type: "wordcount", name: "shared", src_project: "p", src_dataset: "d", src_table: "t", src_column_name: "text" },
    });
    expect(created.status()).toBe(201);
    const workload = await created.json();
    const user = await api.post(`${server.url}/api/v1/users`, { data: { name: "vera", password: "viewer password", role: "viewer" } });
    expect(user.status()).toBe(201);
    await admin.close();

    await signIn(page, server.url, "vera", "viewer password");
    await expect(page).toHaveURL(`${server.url}/`);
    await waitForHydration(page);
    await expect(page.getByTestId("admin-link")).toHaveCount(0);
    await expect(page.getByTestId("dashboard-new-workload")).toHaveCount(0);
    await page.goto(`${server.url}/workloads/${workload.id}`);
    await waitForHydration(page);
    await expect(page.getByRole("heading", { level: 1, name: "shared" })).toBeVisible();
    for (const id of ["run-now", "edit-workload", "delete-workload"]) {
      await expect(page.getByTestId(id)).toHaveCount(0);
    }
    await snapshot(page, "workload-viewer");
    await page.goto(`${server.url}/datasets`);
    await waitForHydration(page);
    await expect(page.getByTestId("upload-form")).toHaveCount(0);
    // Not merely hidden: the server refuses the viewer's own session.
    allowHttpErrors(problems, "/api/fn/runs/start");
    const start = await page.request.post(`${server.url}/api/fn/runs/start`, {
      form: { workload_id: String(workload.id) },
      headers: { "Sec-Fetch-Site": "same-origin" },
    });
    expect(start.status()).toBe(403);
    expect((await start.json()).detail).toContain("needs the editor role");
  });

  test("the sign-in form works without JavaScript", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/login?next=%2Fdatasets`);
    await page.getByLabel("User name").fill("root");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByTestId("login-submit").click();
    await expect(page.getByTestId("posted-error")).toHaveText("Invalid user name or password");
    await page.getByLabel("User name").fill("root");
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByTestId("login-submit").click();
    await expect(page).toHaveURL(`${server.url}/datasets`);
    await expect(page.getByTestId("user-name")).toHaveText("root");
    await context.close();
  });
});

test("a hostile workload name renders as text and opens no dialog", async ({ page, request }) => {
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  const table = await request.post("/api/v1/projects/sec/datasets/d/tables/t?format=csv", {
    data: "id,text\n1,x\n", headers: { "Content-Type": "text/csv" },
  });
  expect(table.status()).toBe(201);
  const created = await request.post("/api/v1/workloads", {
    data: { workload_type: "wordcount", name: HOSTILE, src_project: "sec", src_dataset: "d", src_table: "t", src_column_name: "text", filter: { text: { in: ["x", HOSTILE] } } },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(HOSTILE);
  await expect(page).toHaveTitle(`${HOSTILE} · Tally`);
  // A hostile filter value is shown as text, and edited as text.
  await expect(page.getByTestId("option-filter")).toHaveText(`text in x, ${HOSTILE}`);
  await page.goto(`/workloads/${id}/edit`);
  await waitForHydration(page);
  await expect(page.getByTestId("workload-form").getByLabel("Rows to count")).toHaveValue(`text in x, ${HOSTILE}\n`);
  await page.goto("/workloads");
  await waitForHydration(page);
  await expect(page.getByTestId("workloads-table")).toContainText(HOSTILE);
  // Its run's page names the workload in its breadcrumbs.
  const { last_run } = await (await request.get(`/api/v1/workloads/${id}`)).json();
  await page.goto(`/runs/${last_run.id}`);
  await waitForHydration(page);
  await expect(page.getByTestId("run-workload")).toHaveText(HOSTILE);
  await expect(page.getByTestId("option-filter")).toHaveText(`text in x, ${HOSTILE}`);
});

test("a hostile group value renders as text in the groups, the heading of a group and its links", async ({ page, request }) => {
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  const csv = `kind,text\n"${HOSTILE.replaceAll('"', '""')}",x y\nplain,z\n`;
  const table = await request.post("/api/v1/projects/sec/datasets/groups/tables/t?format=csv", {
    data: csv, headers: { "Content-Type": "text/csv" },
  });
  expect(table.status(), await table.text()).toBe(201);
  const created = await request.post("/api/v1/workloads", {
    data: { workload_type: "wordcount", name: "groups", src_project: "sec", src_dataset: "groups", src_table: "t", src_column_name: "text", group_by: "kind" },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  await expect(async () => {
    expect((await (await request.get(`/api/v1/workloads/${id}`)).json()).status).toBe("succeeded");
  }).toPass({ timeout: 30_000 });
  await page.goto(`/workloads/${id}`);
  await waitForHydration(page);
  const hostile = page.getByTestId("group-row").getByRole("link", { name: HOSTILE, exact: true });
  await expect(hostile).toHaveCount(1);
  await hostile.click();
  await expect(page.getByTestId("group-shown")).toContainText(`kind = ${HOSTILE}`);
  await expect(page.getByTestId("result-row")).toHaveCount(2);
  await expect(page).toHaveTitle("groups · Tally");
});
