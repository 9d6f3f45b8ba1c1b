// The page's two display choices, kept in localStorage: the time zone of the
// chart axis, crosshair readout and trades tape, and the colour theme.

/** Where times are shown: the browser's zone (default) or UTC. */
export type TimeZoneChoice = 'local' | 'utc';
/** The colour theme; without a stored choice the page follows `prefers-color-scheme`. */
export type Theme = 'dark' | 'light';

const TZ_KEY = 'tickflow.timeZone';
const THEME_KEY = 'tickflow.theme';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode, sandboxed frame): defaults apply
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not persisted; the choice still applies to this page.
  }
}

/** The stored time zone choice, `local` when none (or an unknown value) is stored. */
export function storedTimeZone(): TimeZoneChoice {
  return read(TZ_KEY) === 'utc' ? 'utc' : 'local';
}

export function storeTimeZone(tz: TimeZoneChoice): void {
  write(TZ_KEY, tz);
}

/** The stored theme, or undefined when the user never chose one. */
export function storedTheme(): Theme | undefined {
  const t = read(THEME_KEY);
  return t === 'dark' || t === 'light' ? t : undefined;
}

export function storeTheme(theme: Theme): void {
  write(THEME_KEY, theme);
}

/** The theme the system asks for (`prefers-color-scheme`). */
export function systemTheme(): Theme {
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}
