// The live chat in a real browser, across two instances of the app: two users in two browser
// contexts, ada on instance A and bob on instance B, see each other's messages at once (as
// text, never HTML), with no console error (a CSP violation would be one). Then instance B is
// restarted: the script prints "restart B" and waits for a line on its standard input; bob's
// page reconnects by itself and its next message still reaches ada.
//
// usage: node chat.mjs BASE_A BASE_B ADA_EMAIL BOB_EMAIL PASSWORD SCREENSHOT_PATH
import { consoleErrors, launchChromium } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [baseA, baseB, adaEmail, bobEmail, password, screenshot] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function expect(ok, message) {
  if (!ok) throw new Error(message);
}

// A browser context of its own (its own cookies), logged in on `base`, on /chat.
async function chatAs(browser, base, email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = consoleErrors(page);
  await page.goto(`${base}/chat`);
  expect(page.url().includes("/auth/login?next=%2Fchat"), `to log in: ${page.url()}`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  expect(page.url().endsWith("/chat"), `after log-in: ${page.url()}`);
  // The script marks the form once its WebSocket is open.
  await page.waitForSelector("#chat-form[data-live]", { timeout: 10000 });
  return { page, errors };
}

async function say(user, text) {
  await user.page.fill("#chat-body", text);
  await user.page.press("#chat-body", "Enter");
}

// Wait until the page's list has an item by `author` saying `body`.
async function sees(user, author, body) {
  await user.page.waitForFunction(
    ([author, body]) =>
      [...document.querySelectorAll("#chat-messages li")].some(
        (li) => li.querySelector("b")?.textContent === author &&
          li.textContent === `${author} ${body}`,
      ),
    [author, body],
    { timeout: 10000 },
  );
}

const browser = await launchChromium();
let failed = false;
try {
  const ada = await chatAs(browser, baseA, adaEmail);
  const bob = await chatAs(browser, baseB, bobEmail);
  const adaName = adaEmail.split("@")[0];
  const bobName = bobEmail.split("@")[0];

  const html = "hello <i>bob</i> & all";
  await say(ada, html);
  await sees(bob, adaName, html);
  await sees(ada, adaName, html);
  // Sent over the socket: the page did not reload, and what was typed is text, not markup.
  expect(ada.page.url().endsWith("/chat"), `ada stayed on the chat: ${ada.page.url()}`);
  expect((await bob.page.$$("#chat-messages li i")).length === 0, "no <i> element was made");
  await say(bob, "hi ada");
  await sees(ada, bobName, "hi ada");

  // Instance B restarts (a deploy): bob's page reconnects by itself.
  console.log("restart B");
  await lines.next();
  await bob.page.waitForSelector("#chat-form:not([data-live])", { timeout: 10000 }).catch(() => {});
  await bob.page.waitForSelector("#chat-form[data-live]", { timeout: 20000 });
  await say(bob, "back again");
  await sees(ada, bobName, "back again");
  // The history it was sent on reconnecting kept the earlier messages.
  await sees(bob, adaName, html);

  await bob.page.screenshot({ path: screenshot });
  for (const user of [ada, bob]) {
    // A socket that cannot connect while its instance restarts is logged by Chromium: that
    // one is expected.
    const errors = user.errors.filter((e) => !e.includes("WebSocket connection to"));
    expect(errors.length === 0, `console errors: ${errors.join("\n")}`);
  }
} catch (e) {
  console.error(e);
  failed = true;
}
await browser.close();
process.exit(failed ? 1 : 0);
