// The desktop window's WebKit reports the POSIX locale "C" as navigator.language when the
// workstation has no LANG set (a kiosk session, a service). Intl refuses that tag, and uPlot
// builds an Intl.NumberFormat from navigator.language while it is imported: the whole page
// would fail to start. Imported first by main.ts, this replaces an unusable language with
// en-US before anything reads it.

/** Whether Intl accepts lang as a locale. */
export function usableLanguage(lang: string | undefined): boolean {
  if (!lang) return false;
  try {
    return Intl.NumberFormat.supportedLocalesOf([lang]).length > 0;
  } catch {
    return false; // RangeError: not a BCP 47 tag
  }
}

export function guardLanguage(nav: Navigator | undefined): void {
  if (nav && !usableLanguage(nav.language)) {
    Object.defineProperty(nav, 'language', { value: 'en-US', configurable: true });
  }
}

guardLanguage(typeof navigator === 'undefined' ? undefined : navigator);
