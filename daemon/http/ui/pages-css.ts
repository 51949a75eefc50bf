// Style for the overview's health and work sections, the allocations and tokens pages, keyboard
// use (a skip link, visible focus) and phone-sized screens: tables scroll inside their own box,
// secondary columns hide, the header wraps. Served after assets.ts's UI_CSS, in the same sheet.
export const PAGES_CSS = `
.skip { position: absolute; left: -999px; top: 0; background: #fff; color: var(--accent); padding: .4rem .8rem; z-index: 10; }
.skip:focus { left: .5rem; }
:focus-visible { outline: 3px solid #e69f00; outline-offset: 1px; }
main:focus { outline: none; }
header.top nav { display: flex; flex-wrap: wrap; gap: .2rem 1rem; }
.table-scroll { overflow-x: auto; max-width: 100%; }
.table-scroll table { min-width: 36rem; }
input, select { max-width: 100%; box-sizing: border-box; }
input.secret { font-family: ui-monospace, monospace; width: 36rem; }
.fixed-owner { margin: 0; align-self: center; }
.health { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .6rem; padding: 0; list-style: none; }
.health li { background: var(--bg); border: 1px solid var(--line); padding: .5rem .6rem; min-height: 4.2rem; }
.health .up::before { content: "\\2713  "; color: #00573f; } .health .down::before { content: "\\2716  "; color: #7a2600; }
.health .off::before { content: "\\25CB  "; color: var(--muted); }
.health .detail { display: block; color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
progress { width: 9rem; height: 1rem; vertical-align: middle; }
.progress-text { font-variant-numeric: tabular-nums; margin-left: .4rem; }
table.work th:nth-child(4) { width: 40%; } table.failures th:nth-child(4) { width: 45%; }
table.failures th:nth-child(2), table.work th:nth-child(5) { width: 12.5rem; }
/* A failure's reason is what matters: it wraps rather than being cut (rows change only when failures do). */
table.failures td.cause { white-space: normal; overflow-wrap: anywhere; }
@media (max-width: 700px) {
  main { padding: .6rem; }
  header.top { gap: .4rem 1rem; padding: .5rem .6rem; }
  header.top form { margin-left: 0; }
  .table-scroll table { min-width: 28rem; }
  input.secret { width: 100%; }
  .counts { grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); }
  .health { grid-template-columns: 1fr; }
  dl.kv { grid-template-columns: 1fr; }
  progress { width: 5rem; }
}
`;
