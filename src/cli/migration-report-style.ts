/**
 * The migration report page's only style sheet (inlined; its hash is in the page's CSP).
 * System fonts only: the page loads nothing.
 */
export const REPORT_CSS = `
:root { --fg: #1d2430; --muted: #5d6778; --line: #dde2ea; --bg: #f6f7f9; --card: #fff;
  --ok: #1f7a4a; --bad: #b42318; --warn: #a15c07; --accent: #2f5fd0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h1 small { color: var(--muted); font-weight: 400; font-size: 18px; }
h2 { font-size: 16px; margin: 28px 0 10px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code { font: 12px/1.3 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef1f5; padding: 1px 4px; border-radius: 3px; }
small { color: var(--muted); }
.meta, .note { color: var(--muted); margin: 2px 0; }
.tag { display: inline-block; background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 2px 10px; margin: 4px 4px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .big { font-size: 28px; font-weight: 600; margin: 2px 0; }
.card .note { font-size: 12px; }
svg.bar { width: 100%; height: 14px; margin: 14px 0 4px; border-radius: 4px; display: block; }
svg.bar .sent { fill: var(--ok); } svg.bar .skip { fill: var(--warn); } svg.bar .todo { fill: #b8c0cc; }
svg.chart { width: 100%; height: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
svg.chart .month { fill: var(--accent); } svg.chart .grid { stroke: var(--line); }
svg.chart .axis { fill: var(--muted); font-size: 11px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin-top: 12px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; }
td.r, th.r { text-align: right; white-space: nowrap; }
table.kv th { width: 170px; color: var(--muted); font-weight: 500; }
tr.group th { background: #fafbfc; font-size: 12px; color: var(--muted); }
td.verify.ok span { color: var(--ok); font-weight: 600; }
td.verify.mismatch span { color: var(--bad); font-weight: 600; }
td.verify.none { color: var(--muted); }
.err { color: var(--bad); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
@media print { body { background: #fff; } main { padding: 0; } }
`;
