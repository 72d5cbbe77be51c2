import { startPharos, launchBrowser } from './harness.mjs';
import { eightPanelDashboard } from './flows.mjs';
const pharos = await startPharos();
await pharos.api('POST','/api/v1/projects',{kind:'Project',metadata:{name:'team-a'},spec:{namespaces:['team-a']}});
await pharos.api('POST','/api/v1/projects/team-a/datasources',{kind:'Datasource',metadata:{name:'p',project:'team-a'},spec:{default:true,plugin:{kind:'PrometheusDatasource',spec:{proxy:{kind:'HTTPProxy',spec:{url:process.env.PHAROS_TEST_PROMETHEUS_URL}}}}}});
await pharos.api('POST','/api/v1/projects/team-a/dashboards', eightPanelDashboard('team-a','eight'));
const { browser, context } = await launchBrowser();
const END = 1767225600000;
for (const span of [3600000]) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1500 });
  await page.addInitScript(() => {
    window.__long = []; window.__strokes = []; const seen = new Set();
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([Math.round(e.startTime), Math.round(e.duration)]))).observe({ type: 'longtask', buffered: true });
    const stroke = CanvasRenderingContext2D.prototype.stroke;
    CanvasRenderingContext2D.prototype.stroke = function (...a) { if (!seen.has(this.canvas + String(this.strokeStyle))) { seen.add(this.canvas+String(this.strokeStyle)); window.__strokes.push([Math.round(performance.now()), String(this.strokeStyle), this.canvas.width]); } return stroke.apply(this, a); };
  });
  page.on('response', async (r) => { if (r.url().includes('query_range')) console.log('RESP', r.status(), r.request().postData(), (await r.text()).slice(0, 200)); });
  await page.goto(`${pharos.base}/projects/team-a/dashboards/eight?start=${END-span}&end=${END}`);
  await page.waitForTimeout(15000);
  console.log(await page.evaluate(() => { const c=document.createElement('canvas'); const x=c.getContext('2d'); x.strokeStyle='#ff0000'; x.beginPath(); x.moveTo(0,0); x.lineTo(5,5); x.stroke(); return [window.__strokes.length, Object.getPrototypeOf(x)===CanvasRenderingContext2D.prototype, Object.keys(x).length]; }));
  const r = await page.evaluate(() => ({
    canv: document.querySelectorAll('canvas').length, proto: String(CanvasRenderingContext2D.prototype.stroke).slice(0,60), long: window.__long, strokes: window.__strokes.slice(0, 40),
    res: performance.getEntriesByType('resource').filter(e => e.name.includes('query_range')).map(e => Math.round(e.responseEnd)),
  }));
  console.log(span, JSON.stringify(r));
  await page.screenshot({path: 'e2e/artifacts/probe.png'});
  await page.close();
}
await browser.close(); await pharos.stop();
