// The dashboard's page: static markup and style; the script (browser/app.ts) fills it in
// with text only, from the pushed snapshots.

/** The page's markup: no inline script or style (the Content-Security-Policy forbids both). */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zk-leader dashboard</title>
<link rel="stylesheet" href="/style.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
  <h1>zk-leader</h1>
  <span id="root"></span>
  <span id="connection" class="connection" data-state="connecting">connecting…</span>
</header>
<div id="banner" class="banner" hidden></div>
<main>
  <section>
    <h2>Elections</h2>
    <div id="elections"><p class="empty">no elections found yet</p></div>
  </section>
  <section id="groups-section" hidden>
    <h2>Groups</h2>
    <div id="groups"></div>
  </section>
  <section>
    <h2>Timeline <small id="timeline-since"></small></h2>
    <label class="window">show <select id="window">
      <option value="300000">the last 5 minutes</option>
      <option value="3600000" selected>the last hour</option>
      <option value="86400000">the last 24 hours</option>
    </select></label>
    <div id="histories"><p class="empty">no leader seen since the dashboard started</p></div>
  </section>
  <section>
    <h2>ZooKeeper ensemble</h2>
    <div id="ensemble"></div>
  </section>
  <section>
    <h2>Changes <small>since the dashboard started, newest first</small></h2>
    <ol id="changes" class="timeline"></ol>
  </section>
</main>
</body>
</html>
`;

/** The page's style. */
export const pageCss = `
:root { color-scheme: light dark; --bad: #c62828; --good: #2e7d32; --muted: #777; --line: #8884; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1.2em; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2em; margin: 0; }
h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
h3 { font-size: 1em; margin: .8em 0 .3em; font-family: ui-monospace, monospace; }
main { padding: 0 1.2em 2em; }
.connection { margin-left: auto; padding: .1em .6em; border-radius: 1em; border: 1px solid var(--line); }
.connection[data-state="connected"] { color: var(--good); }
.connection[data-state="disconnected"], .connection[data-state="offline"] { color: #fff; background: var(--bad); }
.banner { background: var(--bad); color: #fff; padding: .5em 1.2em; }
table { border-collapse: collapse; width: 100%; margin-bottom: .6em; }
th, td { text-align: left; padding: .2em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
td.data, td.session { font-family: ui-monospace, monospace; word-break: break-all; }
.election { border: 1px solid var(--line); border-radius: .4em; padding: .2em .8em .4em; margin-bottom: .8em; }
.election.leaderless { border-color: var(--bad); box-shadow: inset 4px 0 0 var(--bad); }
.leader-line { margin: .2em 0 .4em; }
.leaderless .leader-line { color: var(--bad); font-weight: bold; }
tr.leader td { font-weight: bold; }
tr.stale td { color: var(--muted); font-style: italic; }
.empty { color: var(--muted); }
.timeline { list-style: none; padding: 0; margin: 0; font-family: ui-monospace, monospace; font-size: .92em; }
.timeline li { padding: .1em 0; border-bottom: 1px dotted var(--line); }
.timeline li.leaderless { color: var(--bad); }
small { color: var(--muted); font-weight: normal; }
td.link { color: var(--muted); }
td.connection.bad { color: var(--bad); font-weight: bold; }
.window { color: var(--muted); }
.history { margin: .4em 0 1em; }
.history h3 { margin-bottom: .2em; }
svg.bars { display: block; margin: .2em 0; }
svg.bars .lane { fill: #8881; }
svg.bars .term { stroke: #0006; stroke-width: .5; }
svg.bars .gap { fill: var(--bad); }
svg.bars .unreachable { fill: #fffa; stroke: var(--bad); stroke-dasharray: 3 2; }
svg.bars text { font: 11px ui-monospace, monospace; pointer-events: none; }
svg.bars .term-label, svg.bars .gap-label { fill: #fff; }
svg.bars .tick { stroke: var(--muted); }
svg.bars .tick-label { fill: var(--muted); text-anchor: middle; }
.leaderless-now { color: var(--bad); font-weight: bold; margin: .2em 0; }
.handovers { margin: .2em 0; padding-left: 1.4em; font-family: ui-monospace, monospace; font-size: .92em; }
.handovers li[data-cause="expired"], .handovers li[data-cause="deleted"] { color: var(--bad); }
#ensemble tr.down td { color: var(--bad); font-weight: bold; }
#ensemble td.problem { color: var(--bad); }
`;
