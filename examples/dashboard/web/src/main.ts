// The dashboard page: one WebSocket client (100 ms batches), REST for history,
// profiles and the account; every view takes data on each batch and the page
// paints once per animation frame after it.
import { createClient } from '@tickflow/ws-server/client';
import type { ChannelUpdate, Subscription, TickflowClient } from '@tickflow/ws-server/client';
import { AccountPanel } from './account.js';
import { installAppearance } from './appearance.js';
import { Api, ApiError } from './api.js';
import type { Session } from './api.js';
import { CandleChart } from './chart.js';
import { ConnectionStatus } from './connectionStatus.js';
import { CorrelationHeatmap } from './heatmap.js';
import { direction, formatPercent, formatPrice, formatTime, setTimeZone, timeZone } from './format.js';
import { installKeyboard } from './keyboard.js';
import { storedTheme, storedTimeZone, systemTheme } from './preferences.js';
import type { Theme } from './preferences.js';
import { ProfileView } from './profile.js';
import { renderReadout } from './readout.js';
import { TradeTape } from './tape.js';
import { TIMEFRAMES } from './types.js';
import type { Candle, Quote, TickerRow, Timeframe, Trade, VolumeProfile } from './types.js';
import { Watchlist } from './watchlist.js';
import { PageEvents } from './userEvents.js';

/** What browser tests and the benchmark read (`window.tickflowPage`): pageHook.ts. */
export type { PageHook } from './pageHook.js';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}

// Theme and time zone before anything is drawn: the stored choice, else the system's theme and local time.
const theme: Theme = storedTheme() ?? systemTheme();
document.documentElement.dataset.theme = theme;
setTimeZone(storedTimeZone());

const api = new Api();
// User events of this page (session, navigation, order form, errors) to POST /api/events (userEvents.ts).
const pageEvents = new PageEvents(() => (api.session === undefined ? undefined : api.token().catch(() => undefined)));
pageEvents.watchOrderForm(el('order-form'), () => symbol);
const notice = el<HTMLElement>('notice');
const picker = el<HTMLSelectElement>('symbol');
const lastPriceEl = el<HTMLElement>('last-price');
const changeEl = el<HTMLElement>('last-change');
const chartTitle = el<HTMLElement>('chart-title');
const status = new ConnectionStatus(el('status'));
const readoutEl = el<HTMLElement>('readout');
let readoutStart: number | undefined;
const chart = new CandleChart(el('chart'), theme, showReadout);
const profile = new ProfileView(el<HTMLCanvasElement>('profile'), el('profile-label'), chart.candles);
const tape = new TradeTape(el<HTMLTableSectionElement>('tape-body'));
const watchlist = new Watchlist(el<HTMLTableSectionElement>('watchlist-body'), (s) => show(s, timeframe));
// Cross-asset correlation of the watchlist's symbols (its own channel, /ws/correlation).
const heatmap = new CorrelationHeatmap(el('heatmap'), el('heatmap-readout'), () => api.token());
const tfButtons = [...document.querySelectorAll<HTMLButtonElement>('#timeframes button')];
const search = el<HTMLInputElement>('search');
const help = el<HTMLElement>('help');

const [hashSymbol, hashTf] = decodeURIComponent(location.hash.slice(1)).split('/');
let symbol = hashSymbol ?? '';
let timeframe: Timeframe = (TIMEFRAMES as readonly string[]).includes(hashTf ?? '') ? (hashTf as Timeframe) : '1m';
let client: TickflowClient | undefined;
let subs: Subscription<string>[] = [];
let loadGeneration = 0;
let historyLoads = 0;
let batches = 0;
let paints = 0;
let frame = 0;
let shownTicker: TickerRow | undefined;
/** `symbol|timeframe` on screen. */
let shownKey = '';

const profileTimeframe = (tf: Timeframe): '1m' | '5m' => (tf === '1m' ? '1m' : '5m');
const candleChannel = () => `candles:${symbol}:${timeframe}` as const;
const tradeChannel = () => `trades:${symbol}` as const;
const profileChannel = () => `profile:${symbol}:${profileTimeframe(timeframe)}` as const;

/** Why there is no session (guest access refused); shown instead of the errors that follow from it. */
let noSessionNotice = '';
/** The notice shown is about the connection (cleared when it is live again). */
let connectionNotice = false;

/** A signed-in session the server no longer knew: stays shown (under other notices' absence) until the next login. */
let sessionNotice = '';

function say(message: string): void {
  const text = message === '' ? sessionNotice : message;
  notice.textContent = text;
  notice.hidden = text === '';
}

function schedulePaint(): void {
  if (frame !== 0) return;
  frame = requestAnimationFrame(paint);
}

/** One paint per frame: only what changed since the last one. */
function paint(): void {
  frame = 0;
  paints++;
  watchlist.paint();
  chart.paint();
  profile.paint();
  tape.paint();
  status.paint();
  if (picker.options.length !== watchlist.symbols().length) fillPicker(watchlist.symbols());
  const t = shownTicker;
  if (t !== undefined) {
    lastPriceEl.textContent = formatPrice(t.last);
    changeEl.textContent = `${formatPercent(t.changePct)} UTC day`;
    changeEl.className = direction(t.changePct);
  }
}

/** Takes one batch of the SDK (every channel that changed in the last 100 ms); no DOM work here. */
function onBatch(updates: readonly ChannelUpdate[]): void {
  batches++;
  status.onBatch();
  for (const u of updates) {
    const rows = u.reset ? u.rows : u.changed;
    switch (u.kind) {
      case 'ticker':
        watchlist.update(rows as readonly TickerRow[]);
        heatmap.watch(watchlist.symbols());
        if (quoteSubs.size < Math.min(QUOTE_CHANNELS, watchlist.symbols().length)) subscribeQuotes();
        for (const r of rows as readonly TickerRow[]) if (r.symbol === symbol) shownTicker = r;
        break;
      case 'candles':
        if (u.channel === candleChannel()) chart.merge(rows as readonly Candle[]);
        break;
      case 'profile':
        if (u.channel === profileChannel()) profile.set(rows as readonly VolumeProfile[]);
        break;
      case 'trades':
        if (u.channel === tradeChannel()) tape.set(u.rows as readonly Trade[]);
        break;
      case 'quotes':
        watchlist.quote(u.rows as readonly Quote[]);
        break;
      case 'user':
        break; // private channels: the account panel (account.ts) follows them on its own client
    }
  }
  schedulePaint();
}

function subscribeShown(): void {
  for (const s of subs) s.unsubscribe();
  subs = [];
  if (client === undefined || symbol === '') return;
  subs = [client.subscribe(candleChannel()), client.subscribe(tradeChannel()), client.subscribe(profileChannel())];
}

/** Bid/ask of the watchlist: one `quotes:SYM` channel per symbol, at most this many (the server allows 200 subscriptions). */
const QUOTE_CHANNELS = 150;
let quoteSubs = new Map<string, Subscription<string>>();

function subscribeQuotes(): void {
  if (client === undefined) return;
  for (const s of watchlist.symbols().sort()) {
    if (quoteSubs.size >= QUOTE_CHANNELS) break;
    if (!quoteSubs.has(s)) quoteSubs.set(s, client.subscribe(`quotes:${s}`));
  }
}

/** (Re)connects the WebSocket with the session's token (a new client after sign in, so the role's entitlements apply). */
function connect(): void {
  client?.close();
  status.restart();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const c = createClient({ url, token: () => api.token(), reauthenticate: () => api.reauthenticate(), batchInterval: 100 });
  client = c;
  c.on('status', (s) => {
    if (client !== c) return;
    status.onClientStatus(s);
    if (s === 'open' && connectionNotice) {
      connectionNotice = false;
      say('');
    }
  });
  c.on('batch', (u) => {
    if (client === c) onBatch(u);
  });
  c.on('error', (e) => {
    if (client !== c) return;
    if (e.code === 'TOKEN' || e.code === 'AUTH') {
      connectionNotice = true;
      say(api.session === undefined && noSessionNotice !== '' ? noSessionNotice : `No market data: ${e.message.replace(/^token function failed: /, '')}; retrying`);
    }
    else if (e.channel !== undefined) say(`${e.channel}: ${e.message}`);
  });
  c.subscribe('ticker');
  quoteSubs = new Map();
  subscribeQuotes();
  subscribeShown();
}

/** Loads the chart's history (GET /api/aggregates) and the newest volume profile (GET /api/profile). */
async function loadHistory(): Promise<void> {
  const gen = ++loadGeneration;
  const sym = symbol;
  const tf = timeframe;
  try {
    const [agg, prof] = await Promise.all([
      api.get<{ candles: Candle[] }>(`/api/aggregates/${encodeURIComponent(sym)}/${tf}?limit=300`),
      api.get<{ profiles: VolumeProfile[] }>(`/api/profile/${encodeURIComponent(sym)}/${profileTimeframe(tf)}?limit=1`).catch(() => ({ profiles: [] })),
    ]);
    if (gen !== loadGeneration) return;
    chart.merge(agg.candles, true);
    profile.set(prof.profiles);
    historyLoads++;
    say('');
    schedulePaint();
  } catch (e) {
    if (gen !== loadGeneration) return;
    say(api.session === undefined && noSessionNotice !== '' ? noSessionNotice : `Could not load ${sym} ${tf} history: ${e instanceof ApiError ? e.message : String(e)}`);
  }
}

/** Shows a symbol and timeframe: live channels, history, hash, picker. */
/** The first view has been shown (later ones add history entries). */
let navigated = false;

/** `#SYMBOL/TF` of the address bar, as symbol and timeframe (the timeframe defaults to the shown one). */
function fromHash(): [string, Timeframe] | undefined {
  const [sym, tf] = decodeURIComponent(location.hash.slice(1)).split('/');
  if (sym === undefined || sym === '') return undefined;
  return [sym, (TIMEFRAMES as readonly string[]).includes(tf ?? '') ? (tf as Timeframe) : timeframe];
}

// Editing the hash, or back/forward: show what the address says.
window.addEventListener('popstate', () => {
  const h = fromHash();
  if (h !== undefined) show(h[0], h[1]);
});
window.addEventListener('hashchange', () => {
  const h = fromHash();
  if (h !== undefined) show(h[0], h[1]);
});

function show(nextSymbol: string, nextTf: Timeframe): void {
  if (nextSymbol === '' || `${nextSymbol}|${nextTf}` === shownKey) return;
  if (!shownKey.startsWith(`${nextSymbol}|`)) {
    tape.clear();
    shownTicker = undefined;
    lastPriceEl.textContent = '–';
    changeEl.textContent = '';
  }
  pageEvents.navigated(shownKey === '' ? undefined : { symbol, timeframe }, { symbol: nextSymbol, timeframe: nextTf });
  symbol = nextSymbol;
  timeframe = nextTf;
  shownKey = `${symbol}|${timeframe}`;
  chart.show(symbol, timeframe);
  profile.clear();
  picker.value = symbol;
  watchlist.select(symbol);
  account.symbolChanged(symbol);
  for (const b of tfButtons) b.setAttribute('aria-pressed', String(b.dataset.tf === timeframe));
  chartTitle.textContent = `${symbol} · ${timeframe}`;
  // A new history entry per change the user makes (back/forward walk through them); the first view replaces.
  const hash = `#${symbol}/${timeframe}`;
  if (location.hash !== hash) {
    if (navigated) history.pushState(null, '', hash);
    else history.replaceState(null, '', hash);
  }
  navigated = true;
  subscribeShown();
  void loadHistory();
  schedulePaint();
}

function fillPicker(symbols: readonly string[]): void {
  const sorted = [...new Set(symbols)].sort();
  picker.replaceChildren(...sorted.map((s) => new Option(s, s, false, s === symbol)));
}

const account = new AccountPanel(
  api,
  () => symbol,
  (s) => (s === symbol ? shownTicker?.last : watchlist.lastOf(s)),
  () => {
    connect();
    // Signed in after a refused guest session: the history could not load before.
    if (noSessionNotice !== '') {
      noSessionNotice = '';
      say('');
      void loadHistory();
    }
  },
);
api.onSessionLost = (previous: Session) => {
  connectionNotice = false;
  sessionNotice = `The server no longer knows the session of ${previous.username} (it ended or the server lost it): continuing as a guest; log in again to trade.`;
  say(sessionNotice);
};
api.onSession = (s: Session | undefined) => {
  if (s !== undefined && !s.guest && sessionNotice !== '') {
    sessionNotice = '';
    say('');
  }
  el('session').textContent = s === undefined ? 'signed out' : s.guest ? 'guest (read only)' : `${s.username} · ${s.role}`;
  account.showSession(s);
};

picker.addEventListener('change', () => show(picker.value, timeframe));
for (const b of tfButtons) b.addEventListener('click', () => show(symbol, b.dataset.tf as Timeframe));
window.addEventListener('resize', () => {
  profile.invalidate();
  schedulePaint();
});
chart.chart.timeScale().subscribeVisibleLogicalRangeChange(() => {
  profile.invalidate();
  schedulePaint();
});

window.tickflowPage = {
  get symbol() {
    return symbol;
  },
  get timeframe() {
    return timeframe;
  },
  get state() {
    return status.state;
  },
  candles: () => chart.data(),
  timeLabels: (ms: number) => ({ axis: chart.timeLabel(ms), tape: formatTime(ms) }),
  get timeZone() {
    return timeZone();
  },
  get theme() {
    return appearance.theme;
  },
  get readoutStart() {
    return readoutStart;
  },
  get quoteChannels() {
    return quoteSubs.size;
  },
  lastPrice: () => shownTicker?.last,
  profile: () => profile.current,
  get historyLoads() {
    return historyLoads;
  },
  get batches() {
    return batches;
  },
  get paints() {
    return paints;
  },
};

/** The crosshair readout (readout.ts) of the bar under the cursor (the newest bar otherwise). */
function showReadout(bar: Candle | undefined, hovered: boolean): void {
  readoutStart = bar?.start;
  renderReadout(readoutEl, bar, hovered);
}

const appearance = installAppearance({ theme, chart, tape, themeButton: el<HTMLButtonElement>('theme'), tzPicker: el<HTMLSelectElement>('time-zone'), overlayButtons: [...document.querySelectorAll<HTMLButtonElement>('.overlays button')], repaint: schedulePaint });
installKeyboard({
  help,
  helpOpen: el('help-open'),
  helpClose: el<HTMLButtonElement>('help-close'),
  search,
  watchlist,
  show: (nextSymbol, nextTf) => show(nextSymbol ?? symbol, nextTf ?? timeframe),
  toggleOverlay: (o) => appearance.toggleOverlay(o),
  toggleTimeZone: () => appearance.toggleTimeZone(),
  toggleTheme: () => appearance.toggleTheme(),
});

async function start(): Promise<void> {
  try {
    await api.guest();
  } catch (e) {
    api.onSession(undefined);
    noSessionNotice = e instanceof ApiError && e.status === 403 ? `${e.message.replace(/: sign in with.*/, '')}. Log in to see market data.` : `Could not start a guest session: ${e instanceof Error ? e.message : String(e)}`;
    say(noSessionNotice);
  }
  connect();
  try {
    const res = await fetch('/api/symbols');
    if (!res.ok) throw new ApiError(res.status, `GET /api/symbols answered ${res.status}`);
    const latest = (await res.json()) as Candle[];
    fillPicker(latest.map((c) => c.symbol));
    show(symbol !== '' ? symbol : (latest[0]?.symbol ?? ''), timeframe);
    if (latest.length === 0) say('No symbols yet: the feed has not produced a candle. The page picks the first symbol of the ticker.');
  } catch (e) {
    say(`Could not list the symbols: ${e instanceof Error ? e.message : String(e)}`);
  }
  // A server that had no candles at load: show the first symbol the ticker brings.
  const wait = setInterval(() => {
    if (symbol !== '') return clearInterval(wait);
    const first = watchlist.symbols().sort()[0];
    if (first !== undefined) {
      clearInterval(wait);
      say('');
      show(first, timeframe);
    }
  }, 250);
}

void start();
