// Drives the frontend page (index.html + app.js) in headless Chromium the way
// a user would, and prints, as JSON, what the page showed at each step and
// every request the page made. deploy/test's TestFrontendFlow runs it and
// judges the result; this script only clicks and reads.
//   node drive.cjs '{"page":"http://localhost:P/#api=...&token=...", "blocked":"http://127.0.0.1:P/#...",
//                    "search":"contoso", "open":"Contoso AB", "user":"new.user@contoso.se"}'
// playwright-core is found through NODE_PATH; the browser at CHROMIUM_PATH
// (default /usr/bin/chromium). Every wait is bounded; a step that fails is
// recorded in "problems" and the next step still runs where it can.
const { chromium } = require("playwright-core");

const STEP_MS = 20000;  // one list or section load
const SYNC_MS = 100000; // a whole sync job, polled by the page

(async () => {
  const args = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const out = { problems: [], console: [], requests: [], steps: {} };
  const headerReads = [];
  const step = async (name, fn) => {
    try {
      out.steps[name] = await fn();
    } catch (e) {
      out.problems.push(`${name}: ${e.message.split("\n")[0]}`);
    }
  };
  try {
    const page = await browser.newPage();
    page.on("console", (m) => { if (m.type() === "error") out.console.push(m.text()); });
    page.on("pageerror", (e) => out.problems.push("page error: " + e.message));
    // The headers as sent on the wire (Origin is added by the network
    // stack, so only allHeaders() has it); bounded, in case one never settles.
    page.on("request", (r) => {
      const bounded = Promise.race([r.allHeaders(), new Promise((res) => setTimeout(() => res(r.headers()), 5000))]);
      headerReads.push(bounded.then((h) => {
        out.requests.push({ method: r.method(), url: r.url(), authorization: !!h.authorization, origin: h.origin || "" });
      }, () => {}));
    });

    const text = (sel) => page.$eval(sel, (e) => e.textContent);
    const names = () => page.$$eval("#customers tr .name", (tds) => tds.map((t) => t.textContent));
    const list = async () => ({
      range: await text("#range"), names: await names(),
      request_id: await text("#request-id"), error: await text("#error"),
    });
    // The page counts finished list loads on #range (data-loads).
    const loads = () => page.$eval("#range", (e) => e.dataset.loads || "0");
    const waitLoadAfter = (before) => page.waitForFunction((b) =>
      (document.getElementById("range").dataset.loads || "0") !== b, before, { timeout: STEP_MS });
    // Clicks, then waits until the list load it started has finished.
    const clickAndWaitRange = async (sel) => {
      const before = await loads();
      await page.click(sel, { timeout: STEP_MS });
      await waitLoadAfter(before);
    };

    await step("first_page", async () => {
      await page.goto(args.page, { waitUntil: "load" });
      await waitLoadAfter("0");
      return list();
    });
    await step("next_page", async () => { await clickAndWaitRange("#next"); return list(); });
    await step("previous_page", async () => { await clickAndWaitRange("#prev"); return list(); });
    await step("sorted_desc", async () => { await clickAndWaitRange("#sort-name-desc"); return list(); });
    await step("search", async () => {
      await page.fill("#q", args.search);
      await clickAndWaitRange("#search button");
      return list();
    });
    const sections = () => page.$$eval("#sections section", (ss) => ss.map((s) => ({
      section: s.dataset.section, state: s.dataset.state, status: s.dataset.status || "",
      as_of: s.dataset.asOf || "", count: Number(s.dataset.count || -1),
      customer_id: s.dataset.customerId || "", customer_kind: s.dataset.customerKind || "",
      unrequested: s.dataset.unrequested || "", text: s.textContent,
    })));
    const allSettled = () => page.waitForFunction(() => {
      const ss = [...document.querySelectorAll("#sections section")];
      return ss.length > 0 && ss.every((s) => s.dataset.state !== "loading");
    }, null, { timeout: STEP_MS });
    await step("view", async () => {
      await page.click(`#customers a.open >> text="${args.open}"`, { timeout: STEP_MS });
      await allSettled();
      return {
        id: await text("#detail-id"), kind: await text("#detail-kind"), sections: await sections(),
      };
    });
    await step("licence", async () => {
      await page.fill("#licence-user", args.user);
      await page.click("#licence button");
      await page.waitForFunction(() => document.getElementById("licence-result").textContent !== "", null, { timeout: STEP_MS });
      const r = await page.$eval("#licence-result", (e) => ({ text: e.textContent, id: e.dataset.id || "", location: e.dataset.location || "", error: e.dataset.error || "" }));
      // The page reloads the licences section: wait for it to settle.
      await page.waitForFunction(() => {
        const s = document.querySelector('section[data-section="licenses"]');
        return s && s.dataset.state !== "loading";
      }, null, { timeout: STEP_MS });
      r.licenses_section = (await sections()).find((s) => s.section === "licenses");
      return r;
    });
    await step("sync", async () => {
      await page.click("#sync-start");
      await page.waitForFunction(() => document.getElementById("sync-state").dataset.final, null, { timeout: SYNC_MS });
      return page.$eval("#sync-state", (e) => ({
        text: e.textContent, id: e.dataset.id || "", location: e.dataset.location || "",
        kind: e.dataset.kind || "", states: e.dataset.states || "", final: e.dataset.final,
      }));
    });
    await step("errors_shown", async () => text("#error"));
    await Promise.all(headerReads);

    // The same page from an origin the gateway does not allow: the browser
    // must withhold the answers, so the page can show nothing but an error.
    await step("blocked_origin", async () => {
      const other = await browser.newPage();
      try {
        await other.goto(args.blocked, { waitUntil: "load" });
        await other.waitForFunction(() => !document.getElementById("error").hidden, null, { timeout: STEP_MS });
        return {
          error: await other.$eval("#error", (e) => e.textContent),
          rows: await other.$$eval("#customers tr", (r) => r.length),
        };
      } finally {
        await other.close();
      }
    });
  } catch (e) {
    out.problems.push("drive failed: " + e.message);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})();
