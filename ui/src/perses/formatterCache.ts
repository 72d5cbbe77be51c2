// The Perses value formatters build a new `Intl.NumberFormat` for every number they format (each
// axis label, legend value and tooltip line), and building one costs far more than formatting: on
// an 8-panel dashboard it was ~60 ms of the first draw. A formatter is immutable once built, so
// equal arguments can share one.
const MAX_FORMATTERS = 256;

/** Makes `Intl.NumberFormat(locales, options)` return a shared formatter for equal arguments. */
export function shareNumberFormatters(): void {
  const Native = Intl.NumberFormat;
  if ((Native as { pharosShared?: boolean }).pharosShared) return;
  const built = new Map<string, Intl.NumberFormat>();
  function Shared(locales?: string | string[], options?: Intl.NumberFormatOptions): Intl.NumberFormat {
    let key: string;
    try {
      key = JSON.stringify([locales ?? null, options ?? null]);
    } catch {
      return new Native(locales, options);
    }
    let formatter = built.get(key);
    if (formatter === undefined) {
      if (built.size >= MAX_FORMATTERS) built.clear();
      formatter = new Native(locales, options);
      built.set(key, formatter);
    }
    return formatter;
  }
  // `new` and plain calls both return the shared object; `instanceof` and the statics still work.
  Shared.prototype = Native.prototype;
  Shared.supportedLocalesOf = Native.supportedLocalesOf.bind(Native);
  Object.defineProperty(Shared, 'pharosShared', { value: true });
  Object.defineProperty(Intl, 'NumberFormat', { value: Shared, writable: true, configurable: true });
}
