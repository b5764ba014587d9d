// Data for a test, made through the REST API: a text table and workloads on it.
import { expect, type APIRequestContext } from "@playwright/test";

/** Uploads `text` as a new text table `e2e.<dataset>.<name><now>`; answers its
 *  name (each line is one value of its `line` column). */
export async function textTable(request: APIRequestContext, dataset: string, name: string, text: string): Promise<string> {
  const table = `${name}${Date.now()}`;
  const up = await request.post(`/api/v1/projects/e2e/datasets/${dataset}/tables/${table}?format=text`, {
    data: Buffer.from(text),
  });
  expect(up.status(), await up.text()).toBe(201);
  return table;
}

/** Creates a word count of that table's `line` column (its first run is
 *  queued at once); answers the workload as the API shows it. */
export async function wordcount(request: APIRequestContext, dataset: string, table: string, name: string, options: object = {}): Promise<any> {
  const created = await request.post("/api/v1/workloads", {
    data: {
      workload_type: "wordcount", name, src_project: "e2e", src_dataset: dataset, src_table: table,
      src_column_name: "line", options,
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  return (await request.get(`/api/v1/workloads/${(await created.json()).id}`)).json();
}

/** Waits until run `id` has ended; answers it. */
export async function ended(request: APIRequestContext, id: number): Promise<any> {
  let run: any;
  await expect(async () => {
    run = await (await request.get(`/api/v1/runs/${id}`)).json();
    expect(["succeeded", "failed", "cancelled"]).toContain(run.state);
  }).toPass({ timeout: 30_000 });
  return run;
}
