// The machines list's own styles (the list, its column chooser, the bulk form and pages), served
// within the dashboard's one stylesheet (assets.ts).
export const MACHINES_CSS = `
table.machines col.c-name { width: 17rem; } table.machines col.c-state { width: 11rem; } table.machines col.c-mac { width: 10.5rem; }
table.machines col.c-ip { width: 8.5rem; } table.machines col.c-changed { width: 13rem; } table.machines col.c-arch { width: 6rem; }
table.machines input[type=checkbox] { margin: 0 .5rem 0 0; vertical-align: middle; }
/* A row that no longer matches the filter after a live update: dimmed in place, same height. */
table.machines tr.stale { background: #eceff2; } table.machines tr.stale td:not(:first-child), table.machines tr.stale td:first-child > :not(.stale-note) { opacity: .55; }
table.machines .stale-note { font-size: .8rem; font-style: italic; color: var(--muted); margin-left: .4rem; }
details.columns { margin: -.3rem 0 .6rem; } details.columns form { display: flex; flex-wrap: wrap; gap: .3rem .9rem; align-items: center; padding: .4rem 0; }
form.bulk { display: flex; flex-wrap: wrap; gap: .5rem .9rem; align-items: center; margin: 0 0 .6rem; padding: .5rem .6rem; background: var(--bg); border: 1px solid var(--line); }
form.bulk fieldset { display: contents; } form.bulk legend { font-weight: 600; float: left; margin-right: .4rem; }
ul.targets { columns: 16rem auto; margin: .3rem 0 .8rem; } table.bulk-result td.accepted { color: #00573f; } table.bulk-result td.refused { color: #7a2600; }
/* On a phone the name keeps the room: the state badge and address shrink, the owner is the rest. */
@media (max-width: 700px) {
  table.machines col.hide-narrow { display: none; }
  table.machines col.c-name { width: 30%; } table.machines col.c-state { width: 6.4rem; } table.machines col.c-ip { width: 6.6rem; }
  table.machines .state { font-size: .85rem; padding: 0 .25rem; }
}
`;
