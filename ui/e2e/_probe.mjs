import { startPharos, launchBrowser } from './harness.mjs';
import { eightPanelDashboard } from './flows.mjs';
const pharos = await startPharos();
await pharos.api('POST','/api/v1/projects',{kind:'Project',metadata:{name:'team-a'},spec:{namespaces:['team-a']}});
await pharos.api('POST','/api/v1/globaldatasources',{kind:'GlobalDatasource',metadata:{name:'p'},spec:{default:false,plugin:{kind:'PrometheusDatasource',spec:{proxy:{kind:'HTTPProxy',spec:{url:process.env.PHAROS_TEST_PROMETHEUS_URL}}}}}});
await pharos.api('POST','/api/v1/projects/team-a/dashboards', eightPanelDashboard('team-a','eight','p'));
const { browser, context } = await launchBrowser();
const END = 1767225600000, H = 3600000;
for (const [label, s, e] of [['23:00-23:59', END-H, END-60000], ['23:30-00:30', END-H/2, END+H/2], ['1h@end-1h', END-2*H, END-H]]) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1500 });
  await page.addInitScript(() => { window.__long = []; new PerformanceObserver((l) => l.getEntries().forEach((x) => window.__long.push(Math.round(x.duration)))).observe({ type: 'longtask', buffered: true }); });
  await page.goto(`${pharos.base}/projects/team-a/dashboards/eight?start=${s}&end=${e}`);
  await page.waitForTimeout(12000);
  const r = await page.evaluate(() => ({ longSum: window.__long.reduce((a, b) => a + b, 0), longN: window.__long.length, q: performance.getEntriesByType('resource').filter(x => x.name.includes('query_range')).map(x => Math.round(x.responseEnd)) }));
  console.log(label, JSON.stringify(r));
  await page.close();
}
await browser.close(); await pharos.stop();
