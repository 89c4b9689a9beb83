/**
 * @module
 * The dashboard's style sheet, served as a static file (`/admin/assets/dashboard-<hash>.css`). It
 * lives in a module rather than a .css file so the compiled package (dist/) carries it too. Pages
 * use no inline style, so the Content-Security-Policy can forbid it.
 */
export const DASHBOARD_CSS = /* css */ `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1d2430; --muted: #667085; --line: #e3e6eb; --accent: #2f5bea;
  --ok: #1f8a4c; --ok-bg: #e5f5ec; --warn: #b26b00; --warn-bg: #fff3dc; --bad: #c8322b; --bad-bg: #fde8e7;
  --info: #2f5bea; --info-bg: #e8eefe; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 20px; margin: 0 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
p { margin: 6px 0; }
code, .id, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.id, .wrap { overflow-wrap: anywhere; word-break: break-word; }
.muted { color: var(--muted); }
.right { text-align: right; }

header.top { background: #151b26; color: #fff; }
header.top .inner { max-width: 1240px; margin: 0 auto; padding: 8px 16px; display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px; }
header.top .brand { font-weight: 700; color: #fff; font-size: 15px; margin-right: 6px; }
header.top nav { display: flex; flex-wrap: wrap; gap: 2px 4px; flex: 1; }
header.top nav a { color: #c9d1e0; padding: 6px 8px; border-radius: 6px; }
header.top nav a.active, header.top nav a:hover { background: #2a3343; color: #fff; text-decoration: none; }
header.top form { margin: 0 0 0 auto; }
header.top button { background: transparent; color: #c9d1e0; border: 1px solid #3a4558; padding: 4px 10px; }

main { max-width: 1240px; margin: 0 auto; padding: 16px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; margin-bottom: 16px; min-width: 0; }
.grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr)); }
.grid > .panel { margin-bottom: 0; }
.grid { margin-bottom: 16px; }
.stack > * + * { margin-top: 16px; }
.notice { border-left: 4px solid var(--info); background: var(--info-bg); padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.notice.warn { border-color: var(--warn); background: var(--warn-bg); }
.notice.bad { border-color: var(--bad); background: var(--bad-bg); }
.notice.ok { border-color: var(--ok); background: var(--ok-bg); }

.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); gap: 8px; }
.stat { display: block; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; color: var(--text); }
.stat:hover { border-color: var(--accent); text-decoration: none; }
.stat .n { display: block; font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .l { color: var(--muted); font-size: 12px; }
.stat.bad .n { color: var(--bad); }
.stat.warn .n { color: var(--warn); }

.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.info { background: var(--info-bg); color: var(--info); }

.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.wrap { max-width: 360px; }
tr.empty td { color: var(--muted); text-align: center; padding: 16px; }
tr.fresh { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: var(--info-bg); } to { background: transparent; } }

dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 150px), 1fr)); gap: 8px 16px; margin: 0; }
dl.facts dt { font-size: 12px; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }

pre { background: #f2f4f7; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 480px; overflow: auto; }
details > summary { cursor: pointer; color: var(--accent); }

form.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px 10px; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; min-width: 0; }
form.filters .actions { display: flex; gap: 12px; align-items: center; }
input, select, button { font: inherit; padding: 6px 8px; border: 1px solid #cdd2da; border-radius: 6px; background: #fff; color: var(--text); max-width: 100%; }
button { cursor: pointer; background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
a.button { display: inline-block; padding: 6px 10px; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; font-weight: 600; }
a.button:hover { text-decoration: none; }
button.secondary, a.button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
button[disabled] { opacity: .6; cursor: default; }
.buttons { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
.buttons form { margin: 0; }

nav.pager { display: flex; justify-content: space-between; gap: 12px; margin-top: 10px; }
svg.bar { width: 100%; min-width: 60px; height: 8px; display: block; margin-top: 3px; }
svg.bar .track { fill: #eceff3; }
svg.bar .ok { fill: var(--ok); } svg.bar .warn { fill: #e59b00; } svg.bar .bad { fill: var(--bad); }
progress { width: 100%; height: 14px; accent-color: var(--accent); }

.chart svg { width: 100%; height: 160px; display: block; }
.chart .axis { fill: var(--muted); font-size: 9px; }
.chart .grid-line { stroke: var(--line); stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; font-size: 12px; }
.legend .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.c0 { fill: #2f5bea; background: #2f5bea; } .c1 { fill: #1f8a4c; background: #1f8a4c; } .c2 { fill: #e59b00; background: #e59b00; }
.c3 { fill: #8e44ad; background: #8e44ad; } .c4 { fill: #16a2b8; background: #16a2b8; } .c5 { fill: #98a2b3; background: #98a2b3; }

.login { max-width: 380px; margin: 10vh auto; }
.login form { display: flex; flex-direction: column; gap: 10px; }
.live { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); }
.live.on::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--ok); }
.htmx-request.busy, .htmx-request .busy { opacity: .6; }

@media (max-width: 640px) {
  main { padding: 10px; }
  header.top .inner { padding: 6px 10px; }
  header.top nav { order: 3; flex: 1 0 100%; flex-wrap: nowrap; overflow-x: auto; margin: 0 -4px; }
  header.top nav a { white-space: nowrap; }
  .panel { padding: 12px; }
  table.cards thead { display: none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: 8px; padding: 4px 0; }
  table.cards td { border: 0; padding: 3px 10px; display: flex; gap: 12px; justify-content: space-between; text-align: right; max-width: none; }
  table.cards td > .v { min-width: 0; }
  table.cards td::before { content: attr(data-label); color: var(--muted); font-size: 12px; text-align: left; flex: 0 0 auto; }
  table.cards td.block { display: block; text-align: left; }
  table.cards td.block::before { display: block; }
  table.cards tr.empty td { display: block; text-align: center; }
  table.cards tr.empty td::before { content: none; }
  td.wrap { max-width: none; }
  .table-wrap { overflow-x: visible; }
  form.filters { grid-template-columns: 1fr 1fr; }
}
`
