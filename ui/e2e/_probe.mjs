import { startPharos, launchBrowser } from './harness.mjs';
import { eightPanelDashboard } from './flows.mjs';
const pharos = await startPharos();
await pharos.api('POST','/api/v1/projects',{kind:'Project',metadata:{name:'team-a'},spec:{namespaces:['team-a']}});
await pharos.api('POST','/api/v1/globaldatasources',{kind:'GlobalDatasource',metadata:{name:'p'},spec:{default:true,plugin:{kind:'PrometheusDatasource',spec:{proxy:{kind:'HTTPProxy',spec:{url:process.env.PHAROS_TEST_PROMETHEUS_URL}}}}}});
await pharos.api('POST','/api/v1/projects/team-a/dashboards', eightPanelDashboard('team-a','eight'));
const { browser, context } = await launchBrowser();
const END = 1767225600000;
for (const span of [3600000, 7*86400000, 3600000]) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1500 });
  await page.addInitScript(() => {
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([Math.round(e.startTime), Math.round(e.duration)]))).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(`${pharos.base}/projects/team-a/dashboards/eight?start=${END-span}&end=${END}`);
  await page.waitForTimeout(20000);
  const r = await page.evaluate(() => ({
    long: window.__long,
    res: performance.getEntriesByType('resource').filter(e => e.name.includes('query_range') || e.name.endsWith('.js')).map(e => [e.name.split('/').pop().slice(0,30), Math.round(e.startTime), Math.round(e.responseEnd)]),
  }));
  console.log(span, JSON.stringify(r));
  await page.close();
}
await browser.close(); await pharos.stop();
