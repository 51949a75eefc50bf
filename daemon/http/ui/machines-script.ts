// The machines list's one bit of script (served within live.js, assets.ts): the header's "tick
// every row on this page" box. It is rendered hidden and shown here, so a browser without script
// never sees a box that does nothing (the bulk form's "all matching this filter" needs none). It
// ticks or clears every enabled row box on the page, and shows itself ticked, clear or mixed as
// the rows are; a row swapped by a live update keeps its box (hx-preserve), so only the mixed
// state is looked at again.
export const TICK_PAGE_JS = `(function () {
  var all = document.getElementById('tick-page');
  if (!all) return;
  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll('table.machines tbody input[name=machine]'), function (b) { return !b.disabled; });
  }
  function show() {
    var boxes = rows(), ticked = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.hidden = false;
  all.addEventListener('change', function () { rows().forEach(function (b) { b.checked = all.checked; }); all.indeterminate = false; });
  document.addEventListener('change', function (e) { if (e.target && e.target.name === 'machine') show(); });
  document.body.addEventListener('htmx:afterSettle', show);
  show();
})();
`;
