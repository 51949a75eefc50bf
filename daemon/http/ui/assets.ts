// The dashboard's static assets: htmx from its npm package (resolved in node_modules, never a
// CDN), and the dashboard's own small script and style sheet, kept here as text so the build has
// nothing to copy. All are served with a strict Content-Security-Policy (no inline script).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MACHINES_CSS } from './machines-css.js';
import { PAGES_CSS } from './pages-css.js';
import { MACHINE_CSS } from './machine-sections.js';
import { TICK_PAGE_JS } from './machines-script.js';

const require = createRequire(import.meta.url);

/** htmx, read once when first asked for. */
let htmxText: string | undefined;
export const htmxSource = (): string => (htmxText ??= readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'));

/**
 * Live updates: one EventSource per page. A `machine` event names (as JSON) a machine whose
 * history moved; every element bound to it (data-live-machine) gets the `rh:live` htmx trigger and
 * fetches its own fresh HTML. An `any` event refreshes the elements that summarise everything.
 * The browser reconnects by itself; the server sends only names, never content. `after` (the
 * newest event id when the page was read) lets the stream tell of events committed in between.
 */
export const LIVE_JS = `(function () {
  if (!window.EventSource || !window.htmx) return;
  var after = document.body.getAttribute('data-after');
  var source = new EventSource('/ui/events/stream' + (after ? '?after=' + encodeURIComponent(after) : ''));
  function fire(selector, test) {
    document.querySelectorAll(selector).forEach(function (el) { if (test(el)) htmx.trigger(el, 'rh:live'); });
  }
  source.addEventListener('machine', function (e) {
    var name;
    try { name = JSON.parse(e.data); } catch (err) { return; }
    fire('[data-live-machine]', function (el) { return el.getAttribute('data-live-machine') === name; });
  });
  source.addEventListener('any', function () { fire('[data-live-any]', function () { return true; }); });
  document.body.setAttribute('data-live', 'connecting');
  source.onopen = function () { document.body.setAttribute('data-live', 'open'); };
  source.onerror = function () { document.body.setAttribute('data-live', 'lost'); };
})();
` + TICK_PAGE_JS;

/**
 * State colours are the Okabe-Ito palette (told apart with the common colour blindnesses), and
 * every state also carries its name and a shape, so colour is never the only signal. Fixed
 * widths and table layout keep rows the same size when live updates swap them (no layout jump).
 */
export const UI_CSS = `
:root { --fg: #1b1f23; --muted: #5a6470; --line: #d8dde3; --bg: #fff; --accent: #0057b8; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); }
body { margin: 0; background: #f5f7f9; }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #14213d; color: #fff; flex-wrap: wrap; }
header.top a { color: #fff; text-decoration: none; } header.top a[aria-current] { text-decoration: underline; }
header.top form { margin-left: auto; } header.top .who { opacity: .8; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
a { color: var(--accent); } a:focus, button:focus, input:focus, select:focus { outline: 3px solid #e69f00; outline-offset: 1px; }
table { border-collapse: collapse; width: 100%; background: var(--bg); table-layout: fixed; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
th a { color: inherit; }
.state { display: inline-block; min-width: 8.5rem; padding: .05rem .45rem; border-radius: 3px; border: 1px solid; font-weight: 600; }
.state::before { margin-right: .35rem; }
.s-enrolled { color: #3d3d3d; border-color: #3d3d3d; } .s-enrolled::before { content: "\\25CB"; }
.s-inspecting, .s-deploying, .s-releasing { color: #004f7a; border-color: #56b4e9; background: #e3f3fc; }
.s-inspecting::before, .s-deploying::before, .s-releasing::before { content: "\\21BB"; }
.s-ready { color: #00573f; border-color: #009e73; background: #e0f4ee; } .s-ready::before { content: "\\2713"; }
.s-allocated { color: #5b3a00; border-color: #e69f00; background: #fdf1d9; } .s-allocated::before { content: "\\25C6"; }
.s-deployed { color: #003a73; border-color: #0072b2; background: #e0ecf7; } .s-deployed::before { content: "\\25CF"; }
.s-failed { color: #7a2600; border-color: #d55e00; background: #fbe6da; } .s-failed::before { content: "\\2716"; }
.s-maintenance { color: #5e2750; border-color: #cc79a7; background: #f7e8f1; } .s-maintenance::before { content: "\\2692"; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .6rem; padding: 0; list-style: none; }
.counts li { background: var(--bg); border: 1px solid var(--line); padding: .6rem; display: flex; justify-content: space-between; align-items: center; }
.counts .n { font-size: 1.4rem; font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
input, select, button { font: inherit; padding: .3rem .5rem; }
button { cursor: pointer; border: 1px solid #8a96a3; background: #fff; border-radius: 3px; }
button[disabled] { cursor: not-allowed; color: #7a848e; background: #eef0f2; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; min-height: 2.4rem; }
.reason { color: var(--muted); font-size: .85rem; }
.error { color: #7a2600; background: #fbe6da; border: 1px solid #d55e00; padding: .4rem .6rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.notice { min-height: 1.6rem; }
pre { background: var(--bg); border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 24rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: .6rem; }
.muted { color: var(--muted); }
.signin { max-width: 28rem; margin: 4rem auto; background: var(--bg); padding: 1.5rem; border: 1px solid var(--line); }
.signin input { width: 100%; box-sizing: border-box; margin: .4rem 0 1rem; }
@media (max-width: 700px) { .hide-narrow { display: none; } th, td { padding: .3rem; } .state { min-width: 0; } }
` + MACHINES_CSS + PAGES_CSS + MACHINE_CSS;
