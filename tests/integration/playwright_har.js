'use strict';
// Records a HAR as Playwright's recordHar writes it (playwright-core driving Debian's
// Chromium): opens ORIGIN/, signs in with the login form (#username, #password, #login), waits
// until the signed-in page's `window.done` settles, and closes the context, which writes the
// HAR. Requests whose URL matches --exclude (a regular expression) are left out of the HAR, as
// recordHar's urlFilter does. Prints one JSON object per line: `result` (what window.done
// resolved with), `har` (the path written); exit status 0 when every step passed.
//
//   node playwright_har.js --url ORIGIN --har PATH [--exclude REGEX] [--user NAME]
//        [--browser /usr/bin/chromium] [--timeout-ms N]

const {chromium} = require('playwright-core');
const {print, fail, parseFlags} = require('./devtools');

async function main() {
  const args = parseFlags(process.argv.slice(2), {
    url: null,
    har: null,
    exclude: '',
    user: 'alice',
    browser: '/usr/bin/chromium',
    timeoutMs: 60000,
  }, {
    '--url': ['url', 'string'],
    '--har': ['har', 'string'],
    '--exclude': ['exclude', 'string'],
    '--user': ['user', 'string'],
    '--browser': ['browser', 'string'],
    '--timeout-ms': ['timeoutMs', 'number'],
  });
  if (!args.url || !args.har) fail('--url and --har are required');
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();

  const browser = await chromium.launch({
    executablePath: args.browser,
    headless: true,
    args: ['--no-sandbox'],
  });
  const recordHar = {path: args.har, content: 'embed', mode: 'full'};
  // urlFilter keeps what matches: everything but the excluded.
  if (args.exclude) recordHar.urlFilter = new RegExp(`^(?!.*(?:${args.exclude}))`);
  const context = await browser.newContext({recordHar});
  const page = await context.newPage();
  await page.goto(args.url + '/');
  await page.fill('#username', args.user);
  await page.fill('#password', 'secret');
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
  const value = await page.evaluate(() => window.done);
  print({type: 'result', value});
  await context.close();  // writes the HAR
  await browser.close();
  print({type: 'har', path: args.har});
  process.exit(0);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
