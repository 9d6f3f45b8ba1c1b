import type { CandleChart, Overlay } from './chart.js';
import { setTimeZone, timeZone } from './format.js';
import { storeTheme, storeTimeZone, storedTheme, systemTheme } from './preferences.js';
import type { Theme, TimeZoneChoice } from './preferences.js';
import type { TradeTape } from './tape.js';

/** What the appearance controls change (main.ts). */
export interface AppearanceOptions {
  /** The theme the page was first drawn with (stored, else the system's). */
  readonly theme: Theme;
  readonly chart: CandleChart;
  readonly tape: TradeTape;
  readonly themeButton: HTMLButtonElement;
  readonly tzPicker: HTMLSelectElement;
  /** The chart's overlay toggles (`data-overlay`). */
  readonly overlayButtons: readonly HTMLButtonElement[];
  /** Asks for a paint after a change. */
  readonly repaint: () => void;
}

/** The page's look as the user set it, and its toggles (the keyboard shortcuts use them). */
export interface Appearance {
  readonly theme: Theme;
  toggleTheme(): void;
  toggleTimeZone(): void;
  toggleOverlay(overlay: Overlay): void;
}

/**
 * Wires the theme button (stored; without a stored choice the page follows
 * the system's theme as it changes), the time zone picker (stored; the chart's
 * axis and the tape follow) and the chart's overlay buttons.
 */
export function installAppearance(o: AppearanceOptions): Appearance {
  const { chart, themeButton, tzPicker } = o;
  let theme = o.theme;
  const applyTheme = (next: Theme): void => {
    theme = next;
    document.documentElement.dataset.theme = next;
    chart.setTheme(next);
    themeButton.textContent = next === 'dark' ? '☀' : '☾';
    themeButton.setAttribute('aria-label', next === 'dark' ? 'Light theme' : 'Dark theme');
  };
  const applyTimeZone = (tz: TimeZoneChoice): void => {
    setTimeZone(tz);
    tzPicker.value = tz;
    chart.timeZoneChanged();
    o.tape.refresh();
    o.repaint();
  };
  const setOverlay = (overlay: Overlay, visible: boolean): void => {
    chart.setOverlay(overlay, visible);
    for (const b of o.overlayButtons) if (b.dataset.overlay === overlay) b.setAttribute('aria-pressed', String(visible));
  };
  applyTheme(theme);
  tzPicker.value = timeZone();
  // No stored theme: follow the system's when it changes.
  matchMedia('(prefers-color-scheme: light)').addEventListener('change', () => {
    if (storedTheme() === undefined) applyTheme(systemTheme());
  });
  themeButton.addEventListener('click', () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    storeTheme(next);
    applyTheme(next);
  });
  tzPicker.addEventListener('change', () => {
    const tz = tzPicker.value === 'utc' ? 'utc' : 'local';
    storeTimeZone(tz);
    applyTimeZone(tz);
  });
  for (const b of o.overlayButtons) {
    b.addEventListener('click', () => {
      const overlay = b.dataset.overlay as Overlay;
      setOverlay(overlay, !chart.overlayShown(overlay));
    });
  }
  return {
    get theme() {
      return theme;
    },
    toggleTheme: () => themeButton.click(),
    toggleTimeZone: () => {
      const tz = timeZone() === 'utc' ? 'local' : 'utc';
      storeTimeZone(tz);
      applyTimeZone(tz);
    },
    toggleOverlay: (overlay) => setOverlay(overlay, !chart.overlayShown(overlay)),
  };
}
