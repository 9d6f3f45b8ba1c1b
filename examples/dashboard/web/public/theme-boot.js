// Sets the colour theme before the first paint, so a light-preference user
// never sees the dark page flash while the page's module loads. Same rule as
// web/src/preferences.ts: the stored choice, else prefers-color-scheme. A
// classic script file, not inline: the server's CSP allows only 'self' scripts.
try {
  var stored = localStorage.getItem('tickflow.theme');
  document.documentElement.dataset.theme = stored === 'light' || stored === 'dark' ? stored : matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
} catch (e) {
  // Storage disabled: the page's module applies the system theme.
}
