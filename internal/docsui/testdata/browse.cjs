// Loads the docs page in headless Chromium and prints, as JSON, the
// operations Swagger UI rendered, any CSP violations or page errors, and
// every request that left the gateway's origin.
//   node browse.cjs http://127.0.0.1:PORT
// playwright-core is found through NODE_PATH; the browser at CHROMIUM_PATH
// (default /usr/bin/chromium).
const { chromium } = require("playwright-core");

(async () => {
  const base = process.argv[2];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const out = { operations: [], problems: [], foreign: [], expanded: "" };
  try {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
      });
    });
    page.on("console", (m) => { if (m.type() === "error") out.problems.push(m.text()); });
    page.on("pageerror", (e) => out.problems.push("page error: " + e.message));
    page.on("request", (r) => { if (!r.url().startsWith(base)) out.foreign.push(r.url()); });

    await page.goto(base + "/docs", { waitUntil: "load" });
    await page.waitForSelector(".opblock", { timeout: 30000 });
    out.operations = await page.$$eval(".opblock", (blocks) => blocks.map((b) => ({
      method: (b.querySelector(".opblock-summary-method") || {}).textContent,
      path: (b.querySelector(".opblock-summary-path") || {}).getAttribute("data-path"),
    })));
    // Open the first operation as a reader would, and read its parameters.
    await page.click(".opblock .opblock-summary");
    await page.waitForSelector(".opblock.is-open .opblock-body", { timeout: 10000 });
    out.expanded = await page.$eval(".opblock.is-open .opblock-body", (b) => b.textContent.slice(0, 2000));
  } catch (e) {
    out.problems.push("browse failed: " + e.message);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})();
